#!/usr/bin/env bash
# The benchmark of issue 6 (docs/performance.md): the workload of scripts/gen-workload at
# N = 100, 1,000, 10,000 and 100,000 services.
#
#   bash benches/run.sh                 # every N; the report goes to target/bench/report.md
#   NS="100 1000" RUNS=5 bash benches/run.sh
#
# Whole process (hyperfine when installed, else RUNS runs and the median): `sight check`,
# `sight build --only compose` and `sight build` into a fresh folder, and the baseline
# (benches/baseline.rs: a minimal program writing the same workload document directly).
# Peak memory: the largest maximum resident set size of three runs (/usr/bin/time, else
# Python's getrusage). In process, per stage (parse, check, graph, emit, write):
# benches/stages.rs. Not part of `cargo test`: it takes minutes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
cargo build --release --quiet
# The bench executables, as cargo reports them.
bins="$(cargo bench --no-run --quiet --message-format=json --bench baseline --bench stages 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("baseline", "stages"):
        print(m["target"]["name"], m["executable"])')"
export SIGHT_BIN="$here/target/release/sight"
export BASELINE_BIN="$(awk '$1 == "baseline" { print $2 }' <<<"$bins")"
export STAGES_BIN="$(awk '$1 == "stages" { print $2 }' <<<"$bins")"
exec python3 "$here/benches/run.py" "$@"
