#!/usr/bin/env bash
# Checks the Debian packages the build needs; installs them when missing and we
# are root, otherwise stops and prints the exact command to run.
set -eu
want=(fonts-ebgaramond default-jre-headless poppler-utils libharfbuzz-subset0 wamerican wbritish zbar-tools qpdf ghostscript)
[ "${NEED_CHROMIUM:-0}" = 1 ] && want+=(chromium)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: missing system packages: ${missing[*]}" >&2
  echo "setup: run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
