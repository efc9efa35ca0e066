# Two commands set up a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := lab,test,browser
PORT   ?= 8888

.PHONY: lab test test-slow venv clean notebooks release figures student-bundle

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

# One pytest run on three worker processes, also on two cores (the browser tests, on one worker, mostly
# wait on the page; tests/conftest.py says which tests share a worker): the tests,
# and nbval, which re-runs every master and compares its stored outputs. nbval's kernels are the
# `stalling-clock` kernelspec that tests/conftest.py installs for the run: the inline backend, and a clock
# that stalls 50 ms at every reading (tests/stalling_clock), so an output decided by timing fails here,
# not on a student's busy laptop. `make test-slow` (run by .ci/run) holds the tests marked slow.
# PYTHONDONTWRITEBYTECODE is emptied (some machines set it): every worker, kernel and tool the run starts
# then reads the compiled modules (and pytest's rewritten tests) the first one wrote, instead of compiling
# them again.
KEEP_BYTECODE := PYTHONDONTWRITEBYTECODE=
test: $(STAMP)
	$(KEEP_BYTECODE) MPLBACKEND=Agg $(BIN)/python -m pytest -m "not slow" -n 3 --dist loadgroup \
		--nbval --nbval-kernel-name stalling-clock --nbval-sanitize-with tests/nbval_sanitize.cfg \
		tests notebooks/source

test-slow: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS),nbgrader]"
	$(KEEP_BYTECODE) MPLBACKEND=Agg $(BIN)/python -m pytest -m slow

# Notebooks: build + execute the masters and release the student versions (NB=01 for one notebook),
# write the student versions only, or redraw the figures in images/.
notebooks: $(STAMP)
	$(BIN)/python -m tools.notebooks $(NB)

release: $(STAMP)
	$(BIN)/python -m tools.release

# What students get: build/student/ and build/student.zip (notebooks, course_utils, requirements, README).
student-bundle: $(STAMP)
	$(BIN)/python -m tools.student_bundle

figures: $(STAMP)
	$(BIN)/python -m tools.figures

# The Gradescope autograder bundle (setup.sh, run_autograder, grader, hidden tests, masters).
.PHONY: autograder-zip
autograder-zip: $(STAMP)
	$(BIN)/python -m autograder bundle --out build/autograder.zip $(if $(NB),--notebooks $(NB),)

# Benchmarks (benchmarks/bench_*.py), reported as ratios measured in one process. The bench extra
# (scipy, torch==2.13.0 CPU) is installed on top of the usual environment; without it torch's rows read n/a.
# BENCH=gradcheck runs one benchmark; BENCH_ARGS=--quick passes options to them.
.PHONY: bench
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS),bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	MPLBACKEND=Agg $(BIN)/python -m benchmarks $(BENCH) $(if $(BENCH_ARGS),-- $(BENCH_ARGS),)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +  # written by make test (KEEP_BYTECODE)
