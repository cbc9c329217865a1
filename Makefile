# The course's commands. Each installs what it needs first and is quick when run again.
#   make lab     install, build the student-size data, generate the student notebooks, serve JupyterLab
#   make test    install, build the ci-size data, run the whole test suite (what CI runs)
#   make test-portability  the notebook tests with oneDNN on/off, 1/2 threads, and under load
#   make bench   time and memory of every notebook at the ci tier; track-following timing table
#   make release regenerate preexercises/ and lessons/ from solutions/
#   make data    build every data set at SIZE (ci, student or full)
#   make hub     the school's GitHub-authenticated JupyterHub on this machine (deploy/README.md)
# Grading (docs/instructor-guide.md), in a course directory outside the repository:
#   make course-init | release-course | collect | autograde | formgrader | feedback | grades

PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8888
SIZE   ?= student
LAB_ARGS ?=
PYTEST_ARGS ?=
BIN    := $(VENV)/bin
PY     := $(BIN)/python
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install lab test test-portability bench release data check clean-data \
        course-init release-course collect autograde formgrader feedback grades

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

test: install hub-deps
	$(PY) -m hepdl.datasets build --size ci
	@$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; \
	exit $$status

# The notebook tests once per machine-dependent condition (tests/portability.py); pass
# PORTABILITY_ARGS='--pytest-args ""' for the whole suite, or name variations: under-load threads-1
PORTABILITY_ARGS ?=
test-portability: install hub-deps
	$(PY) -m hepdl.datasets build --size ci
	$(PY) tests/portability.py $(PORTABILITY_ARGS)

bench: install
	$(PY) -m hepdl.datasets build --size ci
	$(PY) benchmarks/notebooks.py
	$(PY) benchmarks/tracking_following.py
	$(PY) benchmarks/pipeline.py

clean-data:
	find datasets -mindepth 2 -maxdepth 2 -type d \( -name ci -o -name student -o -name full \) -exec rm -rf {} +

# --- grading a school (docs/instructor-guide.md) ---------------------------------------------
COURSE_DIR ?= $(HOME)/hepdl-grading
ASSIGNMENT ?=
DB_URL ?=
EXCHANGE ?=
LATE_PENALTY ?=
GRACE_MINUTES ?=
SUBMITTED_AT ?=
DUEDATE ?=
FORCE ?=
NO_EXCHANGE ?=
FROM ?=
FORMGRADER_PORT ?= 8889
INIT_ARGS ?=
RELEASE_ARGS ?=
COLLECT_ARGS ?=
AUTOGRADE_ARGS ?=
FEEDBACK_ARGS ?=
GRADES_ARGS ?=
FORMGRADER_ARGS ?=
COURSE := $(PY) -m hepdl_course
need_assignment = @test -n "$(ASSIGNMENT)" || { echo 'name the assignment: ASSIGNMENT=pre1_numpy'; exit 2; }

course-init: install
	$(COURSE) init "$(COURSE_DIR)" $(ASSIGNMENT) $(if $(DB_URL),--db-url "$(DB_URL)") \
	  $(if $(EXCHANGE),--exchange "$(EXCHANGE)") $(if $(LATE_PENALTY),--late-penalty $(LATE_PENALTY)) \
	  $(if $(GRACE_MINUTES),--grace-minutes $(GRACE_MINUTES)) $(INIT_ARGS)

release-course: install
	$(need_assignment)
	$(COURSE) release-course "$(COURSE_DIR)" $(ASSIGNMENT) $(if $(DUEDATE),--duedate "$(DUEDATE)") \
	  $(if $(FORCE),--force) $(if $(NO_EXCHANGE),--no-exchange) $(RELEASE_ARGS)

collect: install
	$(need_assignment)
	$(COURSE) collect "$(COURSE_DIR)" $(ASSIGNMENT) $(if $(FROM),--from "$(FROM)") \
	  $(if $(SUBMITTED_AT),--submitted-at "$(SUBMITTED_AT)") $(COLLECT_ARGS)

autograde: install
	$(need_assignment)
	$(COURSE) autograde "$(COURSE_DIR)" $(ASSIGNMENT) $(AUTOGRADE_ARGS)

formgrader: install
	$(COURSE) formgrader "$(COURSE_DIR)" --port $(FORMGRADER_PORT) $(FORMGRADER_ARGS)

feedback: install
	$(need_assignment)
	$(COURSE) feedback "$(COURSE_DIR)" $(ASSIGNMENT) $(FEEDBACK_ARGS)

grades: install
	$(COURSE) grades "$(COURSE_DIR)" $(GRADES_ARGS)

include deploy/hub.mk
