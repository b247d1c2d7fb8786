#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/) from the examples and the UI cases:
# every spec file alone, and every project as one input (its spec files concatenated; for
# `pipeline`, its sight.toml, a NUL byte, then the specs). Idempotent: seeds are named by
# content hash, so running it again adds nothing twice. Found inputs stay in the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

add() { # target file
  local dir="fuzz/corpus/$1"
  mkdir -p "$dir"
  local hash
  hash=$(sha1sum "$2" | cut -c1-40)
  cp "$2" "$dir/seed-$hash"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for project in examples/*/ tests/ui/*/; do
  specs=()
  for spec in "$project"*.sight; do
    # Skip what cannot exist (no spec) and the file-size limit's case (10 MiB).
    [ -e "$spec" ] && [ "$(stat -c%s "$spec")" -lt 1048576 ] && specs+=("$spec")
  done
  [ "${#specs[@]}" -gt 0 ] || continue
  for spec in "${specs[@]}"; do
    for target in parse check pipeline; do add "$target" "$spec"; done
  done
  cat "${specs[@]}" > "$tmp/project"
  add check "$tmp/project"
  add pipeline "$tmp/project"
  { cat "$project/sight.toml" 2>/dev/null || true; printf '\0'; cat "${specs[@]}"; } > "$tmp/with-manifest"
  add pipeline "$tmp/with-manifest"
done
for target in parse check pipeline; do
  echo "fuzz/corpus/$target: $(find "fuzz/corpus/$target" -type f | wc -l) inputs"
done
