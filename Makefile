# Two commands set up a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := lab,test,browser
PORT   ?= 8888

.PHONY: lab test venv clean

# The stamp depends on pyproject.toml: re-running `make` with an unchanged pyproject installs nothing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) --ServerApp.ip=127.0.0.1 $(ROOT_FLAG)

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
