# Two entry points for a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CORPUS_DIR ?= seeds
INDEX_DIR ?= var/index
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run index serve test browser bench

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

index: install
	$(PY) -m indexer --corpus $(CORPUS_DIR) --index $(INDEX_DIR)

serve: install
	INDEX_DIR=$(INDEX_DIR) CORPUS_DIR=$(CORPUS_DIR) $(PY) app.py --host $(HOST) --port $(PORT)

run: index serve

# Debian's Chromium for the browser tests (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else sudo apt-get update -q && sudo apt-get install -y -q chromium; fi; }

test: install browser
	$(PY) -m pytest
