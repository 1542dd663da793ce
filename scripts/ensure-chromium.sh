#!/usr/bin/env bash
# The UI tests drive Debian's Chromium through playwright-core (no browser
# download). Install it when missing and we are allowed to.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian chromium for the UI tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  exit 0
fi
echo "The UI tests need Chromium at /usr/bin/chromium: sudo apt-get install chromium fonts-noto-cjk" >&2
exit 1
