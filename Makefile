# Book builds. `make` builds the EPUB and the PDF; `make test` runs the tests.
PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
SYSSTAMP := build/.system-ok
VALSTAMP := node_modules/.validators-ok
PYCSTAMP := build/.bytecode-ok
# make BOOK=../another-title/book epub pdf: every target works on another title's book folder.
BOOK     ?= book
BOOKARG  := --book $(BOOK)
# make import [MANUSCRIPT=path/NAME.received.md]: without it, the manuscript the book's import record names.
MANUSCRIPT ?=
PYTEST_ARGS ?=

.PHONY: all new epub pdf import check-sources check lint test setup validators clean bench proof dist typeset-report

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

# The pipeline's modules compiled once, as pip compiles an installed package: where the
# environment says PYTHONDONTWRITEBYTECODE (this machine's does), every command would compile
# them again from source, 0.1–0.2 s of each one-chapter rebuild or proof. A module edited since
# is compiled again here; Python checks each file's date against its source and never runs a
# stale one.
$(PYCSTAMP): $(STAMP) $(shell find bookbuild -name '*.py')
	$(PY) -m compileall -q bookbuild
	mkdir -p build && touch $@

setup: $(STAMP) $(SYSSTAMP) $(PYCSTAMP)

validators: $(VALSTAMP)

# make new BOOK=../another-title/book: a new title's book folder that builds at once.
new: setup
	$(PY) build.py new $(BOOKARG)

import: setup
	$(PY) build.py import $(MANUSCRIPT) $(BOOKARG)

check-sources: setup
	$(PY) build.py check-sources $(BOOKARG)

epub: setup
	$(PY) build.py epub $(BOOKARG)

lint: setup
	$(PY) build.py lint $(BOOKARG)

check: setup validators
	$(PY) build.py epub --check $(BOOKARG)

pdf: setup
	$(PY) build.py pdf $(BOOKARG)

# make proof [SINCE=<git ref>] [CHAPTER=<number>]: proof sheets, HTML proof and pictures in build/proof/.
proof: setup
	$(PY) build.py proof $(BOOKARG) $(if $(SINCE),--since $(SINCE)) $(if $(CHAPTER),--chapter $(CHAPTER))

# How well the interior is set (loose lines, hyphens, page ends, spreads), per unit, from the
# built PDF's glyph positions: build/typeset/report.txt and report.json.
typeset-report: setup
	$(PY) build.py typeset-report $(BOOKARG)

test: setup validators
	$(PY) build.py -q check-sources $(BOOKARG)
	BOOK=$(abspath $(BOOK)) $(PY) -m pytest $(PYTEST_ARGS)

# Times and peak memory of the builds on the real book, in a temporary copy of the
# repository (build/ is left alone), against plain pandoc and WeasyPrint and the goals.
bench: setup
	$(PY) scripts/bench.py

# make dist [FORCE=1]: every edition, checked, into dist/<version>/ (FORCE replaces a release).
dist: setup validators
	$(PY) build.py dist $(BOOKARG) $(if $(FORCE),--force)

clean:
	rm -rf build
