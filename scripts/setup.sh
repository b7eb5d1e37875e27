#!/usr/bin/env bash
# Set up a development / workstation environment in .venv: system packages (when root),
# the Python packages, and the detector models (verified against models/manifest.json).
# Safe to run again: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
EXTRAS=${MONA_FRAME_EXTRAS:-dev,demo,build,fomm,systemd}

# systemd-python compiles against libsystemd; systemd-analyze checks the unit file;
# rsync and shellcheck are for deploy/release.sh and its tests.
need_apt=()
for pkg in libsystemd-dev pkg-config systemd rsync shellcheck; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing ${need_apt[*]} with apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "setup: please run: sudo apt-get install ${need_apt[*]}" >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
echo "setup: installing mona-frame[$EXTRAS]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]"
.venv/bin/python models/fetch_models.py
echo "setup: done"
