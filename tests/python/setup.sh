#!/usr/bin/env bash
# Create (or refresh) the Python virtualenv the compatibility tests use: target/py-venv with the
# pinned packages of tests/python/requirements.txt (Tencent's Python SDK and tccli).
#
# Idempotent: a stamp holding the requirements' hash skips the work when nothing changed, so
# `cargo test` can call it every time. Needs the network the first time only. Exits non-zero
# (and says why) when the packages cannot be installed; the tests then fail rather than skip.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/target/py-venv"
req="$root/tests/python/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

mkdir -p "$root/target"
# One installer at a time (parallel test binaries, or CI and a developer).
exec 9>"$root/target/py-venv.lock"
flock 9

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/tccli" ]; then
    exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup.sh: $python not found; install Python 3 (e.g. apt-get install python3 python3-venv)" >&2
    exit 1
fi
echo "setup.sh: creating $venv from $req" >&2
rm -rf "$venv"
if ! "$python" -m venv "$venv"; then
    echo "setup.sh: '$python -m venv' failed; on Debian install python3-venv" >&2
    exit 1
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet -r "$req"
"$venv/bin/python" -c "import tencentcloud.ssm.v20190923.ssm_client"
"$venv/bin/tccli" --version >/dev/null
echo "$want" >"$stamp"
echo "setup.sh: ready" >&2
