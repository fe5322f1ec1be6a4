# Two entry points for a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CORPUS_DIR ?= seeds
INDEX_DIR ?= var/index
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run index serve test browser bench solr-launcher solr

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

# The local SolrCloud launcher (solr/launcher, Maven, Java 17): built offline when the local
# Maven repository has Solr's artifacts, else from Maven Central. Without Java or Maven the
# Solr tests skip with that reason, so this step only reports it.
LAUNCHER_JAR := solr/launcher/target/solr-launcher.jar
$(LAUNCHER_JAR): solr/launcher/pom.xml $(wildcard solr/launcher/src/main/java/launcher/*.java)
	cd solr/launcher && { mvn -q -B -o package 2>/dev/null || mvn -q -B package; }

solr-launcher:
	@if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory $(LAUNCHER_JAR); \
	else echo "no Java 17/Maven: the Solr tests will skip"; fi

# A local SolrCloud (2 nodes, collection "news" with 2 shards x 2 replicas); prints SOLR_URL.
# Stops on Ctrl-C or when stdin closes.
solr: $(LAUNCHER_JAR)
	java -Xmx1g -cp "$(LAUNCHER_JAR):solr/launcher/target/lib/*" launcher.Launcher --configset solr/configset

test: install browser solr-launcher
	$(PY) -m pytest
