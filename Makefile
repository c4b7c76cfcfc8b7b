# Two commands set everything up: `make run` (the portal, locally) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# uv installs the pinned dependencies (requirements.lock) in seconds; pip would take minutes here.
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PYTEST_ARGS ?=

.PHONY: run test fuzz bench lint format debian-tools node-tools clean

$(PY):
	$(PYTHON) -m venv --without-pip $(VENV) || python3 -m venv --without-pip $(VENV)

$(UV): | $(PY)
	$(PYTHON) -m pip --python $(PY) install --quiet --disable-pip-version-check uv==$(UV_VERSION) 2>/dev/null \
	  || python3 -m pip --python $(PY) install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(RUN_STAMP): pyproject.toml requirements.lock | $(UV)
	$(UV) pip install --quiet --python $(PY) -c requirements.lock -e ".[local]"
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml requirements.lock | $(UV)
	$(UV) pip install --quiet --python $(PY) -c requirements.lock -e ".[test]"
	touch $(RUN_STAMP) $(TEST_STAMP)

# Debian tools the suite drives (promtool, alertmanager, amtool, chromium, dot), when missing.
debian-tools:
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (install them with apt-get)"; fi; \
	fi

# The OpenID Connect provider process the SSO tests sign in against; Backstage's entity schemas (its npm package).
node-tools: tests/oidc/node_modules/.package-lock.json tests/backstage/node_modules/.package-lock.json

tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error

tests/backstage/node_modules/.package-lock.json: tests/backstage/package-lock.json
	cd tests/backstage && npm ci --no-audit --no-fund --loglevel=error

run: $(RUN_STAMP)
	mkdir -p var/staticfiles
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/honcho -f Procfile.local start

test: $(TEST_STAMP) debian-tools node-tools
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc = 5 ]; then echo "pytest collected no tests: the suite is missing" >&2; exit 1; fi; exit $$rc

# A longer fuzzing campaign of every API operation than the suite's (PORTAL_FUZZ_EXAMPLES per operation).
FUZZ_EXAMPLES ?= 200
fuzz: $(TEST_STAMP)
	PORTAL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/api/test_openapi.py -k no_request_causes

bench: $(TEST_STAMP)
	$(PY) -m bench

# Style, the import contracts (pyproject.toml, [tool.importlinter]) and models without a migration. The
# migration check needs no database of its own: an in-memory one answers its history question.
lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=portal.settings.test DATABASE_URL=sqlite://:memory: \
	  $(PY) manage.py makemigrations --check --dry-run

format: $(TEST_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var $(VENV)
