# The two commands: `make run` (the demo) and `make test` (the whole suite). See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint messages clean-data

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

## make run: a working demo on http://localhost:8000/ (embedded PostgreSQL and broker unless configured)
run: $(STAMP)
	$(PY) -m config.devstack run

# Lighthouse for the mobile audit of the dealer site (tests/browser/test_lighthouse.py), pinned by its lock file.
LIGHTHOUSE := tools/lighthouse/node_modules/.bin/lighthouse
$(LIGHTHOUSE): tools/lighthouse/package.json tools/lighthouse/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd tools/lighthouse && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.bin/lighthouse; \
	else echo "npm not found: the Lighthouse audit (tests/browser/test_lighthouse.py) cannot run"; fi

## make test: lint, dependency contracts, then the whole pytest suite (ARGS="-x -k name" to narrow)
test: $(STAMP) $(LIGHTHOUSE) lint
	$(PY) -m config.devstack test $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

messages: $(STAMP)
	$(PY) -m config.devstack messages

## Forget the demo's data (embedded database, queues, media).
clean-data:
	rm -rf .data
