#!/usr/bin/env bash
# Install Debian's redis-server for the cluster tests (tests/cluster, gateway/cluster), once.
# The tests start their own redis-server on a free loopback port and stop it at the end; the
# package's system service is neither needed nor started here. Works unattended (CI=true, no
# stdin): as root directly, otherwise through `sudo -n`.
set -euo pipefail
REDIS_SERVER="${REDIS_SERVER:-/usr/bin/redis-server}"
if [ -x "$REDIS_SERVER" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian's redis-server for the cluster tests (first run only)"
# policy-rc.d keeps the package's own service from starting (a container has no init to run it,
# and the tests want no Redis on the default port 6379 anyway).
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=""
if [ ! -e "$POLICY" ] && [ "$(id -u)" = "0" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY" && chmod +x "$POLICY" && ADDED_POLICY=1
fi
cleanup() { if [ -n "$ADDED_POLICY" ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT
for attempt in 1 2 3; do
  if $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends redis-server >/dev/null; then
    break
  fi
  if [ "$attempt" = 3 ]; then
    echo "could not install redis-server with apt-get" >&2
    exit 1
  fi
  sleep 5
done
"$REDIS_SERVER" --version
