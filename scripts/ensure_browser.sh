#!/usr/bin/env bash
# The end-to-end tests drive Debian's Chromium (never a downloaded browser build).
# As root, install it (and CJK fonts, so 简体中文 renders in screenshots); otherwise just say so.
set -euo pipefail
if [ -x /usr/lib/chromium/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
else
  echo "Chromium is missing: run 'sudo apt-get install chromium' for the browser tests (they are skipped without it, and fail under CI)." >&2
fi
