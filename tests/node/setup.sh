#!/usr/bin/env bash
# Install (or refresh) the Node packages the SOPS compatibility tests use: target/node-sops with
# the exact versions of tests/node/package-lock.json (sops-age, an independent SOPS
# implementation), and the test script beside them so that Node resolves the packages.
#
# Idempotent: a stamp holding the inputs' hash skips the work when nothing changed, so the tests
# can call it every time. Needs the npm registry the first time only (`npm ci`). Exits non-zero
# (and says why) when the packages cannot be installed; the tests then fail rather than skip.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
src="$root/tests/node"
dest="$root/target/node-sops"
stamp="$dest/.inputs.sha256"

mkdir -p "$root/target"
# One installer at a time (parallel test binaries, or CI and a developer).
exec 9>"$root/target/node-sops.lock"
flock 9

want="$(cat "$src/package.json" "$src/package-lock.json" "$src"/*.mjs | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dest/node_modules/sops-age" ]; then
    exit 0
fi

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "setup.sh: $tool not found; install Node.js 18 or newer with npm" >&2
        exit 1
    fi
done
echo "setup.sh: installing sops-age into $dest (npm ci)" >&2
rm -rf "$dest"
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$src"/*.mjs "$dest/"
(cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$dest" && node --input-type=module -e "import 'sops-age'")
echo "$want" >"$stamp"
echo "setup.sh: ready" >&2
