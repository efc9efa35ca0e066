# Two commands set up a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := lab,test
PORT   ?= 8888

.PHONY: lab test venv clean

# The stamp depends on pyproject.toml: re-running `make` with an unchanged pyproject installs nothing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT)

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
