# The course's commands. Each installs what it needs first and is quick when run again.
#   make lab     install, build the student-size data, generate the student notebooks, serve JupyterLab
#   make test    install, build the ci-size data, run the whole test suite (what CI runs)
#   make bench   time and memory of every notebook at the ci tier
#   make release regenerate preexercises/ and lessons/ from solutions/
#   make data    build every data set at SIZE (ci, student or full)

PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8888
SIZE   ?= student
LAB_ARGS ?=
PYTEST_ARGS ?=
BIN    := $(VENV)/bin
PY     := $(BIN)/python
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install lab test bench release data check clean-data

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (found %d.%d): set PYTHON=python3.11" % sys.version_info[:2])'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	touch $@

data: install
	$(PY) -m hepdl.datasets build --size $(SIZE)

release: install
	$(PY) -m hepdl_course release

check: install
	$(PY) -m hepdl_course check

# The student notebooks are regenerated when a source changed since the last release.
$(VENV)/.released: $(shell find solutions -type f -not -path '*/.ipynb_checkpoints/*' 2>/dev/null) | $(VENV)/.installed
	$(PY) -m hepdl_course release
	touch $@

lab: install $(VENV)/.released
	$(PY) -m hepdl.datasets build --size student
	$(PY) -m hepdl_course lab --port $(PORT) $(LAB_ARGS)

test: install
	$(PY) -m hepdl.datasets build --size ci
	@$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; \
	exit $$status

bench: install
	$(PY) -m hepdl.datasets build --size ci
	$(PY) benchmarks/notebooks.py

clean-data:
	find datasets -mindepth 2 -maxdepth 2 -type d \( -name ci -o -name student -o -name full \) -exec rm -rf {} +
