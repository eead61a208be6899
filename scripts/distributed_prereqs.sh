#!/usr/bin/env bash
# What `make test-distributed` needs from the system: PostgreSQL, Redis, and Debian's Chromium with
# its chromedriver. Installed with apt-get (as root, or through sudo) only when something is missing.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
test -x /usr/bin/chromium || missing+=(chromium)
test -x /usr/bin/chromedriver || missing+=(chromium-driver)

if [ ${#missing[@]} -eq 0 ]; then
    echo "System packages present: postgresql, redis-server, chromium, chromium-driver."
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "Missing Debian packages: ${missing[*]}; run as root or install them:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
