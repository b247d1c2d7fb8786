#!/usr/bin/env bash
# Validates sight's SARIF output against the SARIF 2.1.0 JSON schema.
#
#   bash tools/validate/sarif.sh SIGHT_BINARY
#
# The schema comes from a package that ships it (the SARIF Multitool's npm package, pinned);
# check-jsonschema (from the validators venv, on PATH) does the validation. Every UI case with
# an error is rendered as SARIF and validated, plus one clean project.
set -euo pipefail
sight="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${SIGHT_CACHE:-$root/.cache}"
schema="$cache/sarif-2.1.0.json"
if [ ! -s "$schema" ]; then
  mkdir -p "$cache/npm"
  (cd "$cache/npm" && npm pack --silent @microsoft/sarif-multitool-linux@5.7.0 >/dev/null)
  tar -xzf "$cache"/npm/microsoft-sarif-multitool-linux-5.7.0.tgz -C "$cache/npm" package/sarif-2.1.0.json
  mv "$cache/npm/package/sarif-2.1.0.json" "$schema"
  rm -rf "$cache/npm"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
n=0
for case in "$root"/tests/ui/*/ "$root"/examples/sight-platform/; do
  name="$(basename "$case")"
  "$sight" check --format sarif "$case" > "$out/$name.sarif" || true
  n=$((n + 1))
done
check-jsonschema --schemafile "$schema" "$out"/*.sarif
echo "sarif: $n logs valid against the SARIF 2.1.0 schema"
