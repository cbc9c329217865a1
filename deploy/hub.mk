# The school's JupyterHub on one machine (deploy/README.md). Included from the Makefile, which
# defines PY, BIN and VENV; on its own: make -f Makefile -f deploy/hub.mk hub-deps
#   make hub-deps  configurable-http-proxy (npm, into deploy/.node) and chromium (apt, for tests)
#   make hub       the above, student data, released notebooks, grading folder, then the hub
#   make hub-grading  only the instructors' course directory, HEPDL_HUB_STATE/grading (once)

NODE_PREFIX ?= deploy/.node
CHP_VERSION ?= 5.3.0
CHP         := $(NODE_PREFIX)/bin/configurable-http-proxy
HEPDL_HUB_STATE ?= /srv/hepdl-hub
export HEPDL_HUB_STATE

.PHONY: hub hub-deps hub-grading

hub-deps: $(NODE_PREFIX)/.chp-$(CHP_VERSION)
	@test -x /usr/bin/chromium || { \
	  command -v apt-get >/dev/null || { echo "install chromium (/usr/bin/chromium) for the browser test"; exit 1; }; \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	  else sudo apt-get install -y chromium; fi; }
	@$(PY) -c 'import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ("jupyterhub", "oauthenticator", "playwright", "jupyterhub_idle_culler", "repo2docker")))' || \
	  { echo "jupyterhub, oauthenticator, jupyterhub-idle-culler, playwright or jupyter-repo2docker missing: they are pinned in requirements.txt; run make install"; exit 1; }

$(NODE_PREFIX)/.chp-$(CHP_VERSION):
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js (apt-get install -y nodejs npm)"; exit 1; }
	npm install --silent --no-fund --no-audit --prefix $(NODE_PREFIX) -g configurable-http-proxy@$(CHP_VERSION)
	touch $@

# The formgrader's course directory (docs/instructor-guide.md): made once; `make course-init
# COURSE_DIR=$(HEPDL_HUB_STATE)/grading ...` changes its settings later.
hub-grading: install
	@test -f "$(HEPDL_HUB_STATE)/grading/hepdl-course.json" || \
	  $(PY) -m hepdl_course init "$(HEPDL_HUB_STATE)/grading" --course-id "$${HEPDL_HUB_COURSE_ID:-hepdl}" --exchange "$(HEPDL_HUB_STATE)/exchange"

hub: install hub-deps $(VENV)/.released hub-grading
	$(PY) -m hepdl.datasets build --size student
	@echo "JupyterHub on http://$${HEPDL_HUB_IP:-127.0.0.1}:$${HEPDL_HUB_PORT:-8000}/ (state in $(HEPDL_HUB_STATE); Ctrl-C stops it)"
	cd "$(HEPDL_HUB_STATE)" && exec "$(abspath $(BIN))/jupyterhub" -f "$(abspath deploy/jupyterhub_config.py)"
