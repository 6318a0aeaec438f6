#!/usr/bin/env bash
# Install Debian's chromium for the browser tests, once. Playwright (playwright-core) drives
# this system browser; it never downloads one (`npx playwright install` cannot work here).
# Works unattended (CI=true, no stdin): as root directly, otherwise through `sudo -n`.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian's chromium for the browser tests (first run only)"
for attempt in 1 2 3; do
  if $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; then
    break
  fi
  if [ "$attempt" = 3 ]; then
    echo "could not install chromium with apt-get" >&2
    exit 1
  fi
  sleep 5
done
/usr/bin/chromium --version
