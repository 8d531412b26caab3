# Two commands get a newcomer going (see README):
#   make demo   simulate, build and serve the live demo
#   make test   run the whole test suite
# Both create and use the project virtualenv .venv themselves.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench golden docs install clean

# The virtualenv is made once; a changed pyproject.toml only reinstalls.
$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python 3.11+ not found (set PYTHON=...)" >&2; exit 2; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: $(PYTHON) is older than 3.11; install Python 3.11+ or run make PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(BIN)/python
	@# setuptools warns about every editable install of a package-dir
	@# mapping; the warning is for setuptools developers, not for users.
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(STAMP)

# The live demo: the simulator grows data/simulated_calls.csv toward 50 MB
# while the reports rebuild; open the printed URL. Ctrl-C stops it all.
demo: $(STAMP)
	$(BIN)/finops serve --simulate

# The suite runs on every core (pytest-xdist, at most 4 workers: each may hold
# a DuckDB, a Chromium or a Spark session). A module's tests stay together,
# except in a few long modules; the Spark tests are two scopes (the Spark
# build, and the rest), handed out first, longest modules next
# (tests/conftest.py, pytest_xdist_make_scheduler). A third worker on 2
# cores did not shorten the run (741 s against 739 s, 1.4 cores busy on
# average) when one worker ran every Spark test in a row.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadscope

bench: $(STAMP)
	$(BIN)/python bench/run.py

golden: $(STAMP)
	$(BIN)/python tests/update_golden.py

# The generated parts of docs/ and sql/README.md (--help, header keys and hints).
docs: $(STAMP)
	$(BIN)/python tests/update_docs.py

clean:
	rm -rf $(VENV) reports data/*.csv data/*.finops-store .pytest_cache
