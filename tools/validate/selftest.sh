#!/usr/bin/env bash
# Proves that the validators catch real mistakes: runs gcp_schema_check.py, shellcheck and
# run.sh on the fixtures in tools/validate/fixtures/ and asserts each verdict and message.
#
#   bash tools/validate/selftest.sh      (the same tools on PATH as for run.sh)
#
# fixtures/good/ is a complete artifact tree that must pass run.sh; every file in
# fixtures/bad/ must be rejected, most of them for one specific, asserted reason.
# Prints one line per assertion, then "selftest: N passed, M failed"; exit 1 on any failure.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-python3}"
chk="$here/gcp_schema_check.py"
good="$here/fixtures/good"
bad="$here/fixtures/bad"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sight-selftest.XXXXXX")" || exit 2
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

result() {  # result ok|FAIL LABEL [DETAILS]
  if [ "$1" = ok ]; then
    pass=$((pass + 1))
    printf 'ok    %s\n' "$2"
  else
    fail=$((fail + 1))
    printf 'FAIL  %s\n' "$2"
    [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/      /'
  fi
  return 0
}

# expect LABEL WANT_STATUS [TEXT...] -- CMD...
# Runs CMD once. One assertion for the exit status, plus one per TEXT that must appear
# (fixed string) in the combined output.
expect() {
  local label="$1" want="$2" texts=() out rc t
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do texts+=("$1"); shift; done
  shift
  out="$("$@" 2>&1)"
  rc=$?
  if [ "$rc" = "$want" ]; then
    result ok "$label: exit $rc"
  else
    result FAIL "$label: exit $rc, want $want" "$out"
  fi
  for t in ${texts[@]+"${texts[@]}"}; do
    if printf '%s\n' "$out" | grep -qF -e "$t"; then
      result ok "$label: reports \"$t\""
    else
      result FAIL "$label: should report \"$t\"" "$out"
    fi
  done
}

check() {  # check KIND FILE WANT_STATUS [TEXT...]
  local kind="$1" file="$2" want="$3"
  shift 3
  expect "gcp_schema_check --kind $kind ${file#"$here"/}" "$want" "$@" -- "$py" "$chk" --kind "$kind" "$file"
}

echo "== gcp_schema_check.py: good files are accepted"
check alert-policy "$good/alerts/api-latency.yaml" 0
check alert-policy "$good/alerts/redis-health.json" 0
check cloudbuild "$good/cloudbuild.yaml" 0
check cloudrun-service "$good/cloudrun/api.service.yaml" 0

echo "== gcp_schema_check.py: alert policies"
check alert-policy "$bad/alerts/bad-enum-unknown-field.yaml" 1 \
  "bad-enum-unknown-field.yaml:7: error: \$.conditions[0].conditionThreshold.comparison: 'GREATER_THAN' is not a valid MetricThreshold.comparison" \
  "unknown field 'evaluationMissingDat' in MetricThreshold; did you mean 'evaluationMissingData'?"
check alert-policy "$bad/alerts/bad-semantics.yaml" 1 \
  "\$.name: do not set \`name\`" \
  "needs a \`combiner\`" \
  "a condition sets exactly one of" \
  "bad-semantics.yaml:10: error: \$.conditions[0].conditionThreshold.duration: duration must be a multiple of 60s" \
  "crossSeriesReducer REDUCE_MEAN needs a perSeriesAligner other than ALIGN_NONE" \
  "alignmentPeriod must be 60s..90000s" \
  "at least 120s" \
  "COMPARISON_GT or COMPARISON_LT" \
  "missing required field 'filter'" \
  "'my-email-channel' is not a channel name" \
  "only \"text/markdown\" is supported"
check alert-policy "$bad/alerts/bad-types.yaml" 1 \
  "AlertPolicy.enabled must be true or false, got string" \
  "durations are strings like \"300s\"" \
  "Trigger.count must be an integer (int32), got number 1.5" \
  "'30m' is not a valid duration"
check alert-policy "$bad/alerts/bad-duplicate-key.yaml" 1 \
  "bad-duplicate-key.yaml:8: error: \$.conditions[0].conditionThreshold.comparison: duplicate key 'comparison'"
check alert-policy "$bad/alerts/bad-multidoc.yaml" 1 "bad-multidoc.yaml:4: error: \$: more than one YAML document"

echo "== gcp_schema_check.py: cloudbuild"
check cloudbuild "$bad/cloudbuild.bad-deprecated-enum.yaml" 1 \
  "\$.options.machineType: 'N1_HIGHCPU_8' is deprecated"
check cloudbuild "$bad/cloudbuild.bad-unused-secret.yaml" 1 \
  "\$.availableSecrets.secretManager[1].env: secret env 'API_KEY' is not used by any step's secretEnv"
check cloudbuild "$bad/cloudbuild.bad-undeclared-secret.yaml" 1 \
  "secretEnv 'DATABASE_URL' is not declared"
check cloudbuild "$bad/cloudbuild.bad-waitfor-unknown.yaml" 1 \
  "\$.steps[1].waitFor[0]: waitFor \"push\" is not the id of an earlier step" \
  "duplicate step id 'build'"
check cloudbuild "$bad/cloudbuild.bad-step-key-top-level.yaml" 1 \
  "bad-step-key-top-level.yaml:7: error: \$.entrypoint: unknown field 'entrypoint' in Build; it is a build-step field" \
  "unknown field 'args' in Build"
check cloudbuild "$bad/cloudbuild.bad-script-and-args.yaml" 1 \
  "a step with \`script\` cannot also set \`args\` or \`entrypoint\`" \
  "substitution key 'region' does not match" \
  "'20m' is not a valid duration"
check cloudbuild "$bad/cloudbuild.bad-shell.yaml" 0   # schema-valid: shellcheck must catch it

echo "== gcp_schema_check.py: Cloud Run service"
check cloudrun-service "$bad/cloudrun/api.bad.yaml" 1 \
  "apiVersion must be serving.knative.dev/v1" \
  "kind must be Service" \
  "\$.metadata.annotations[\"autoscaling.knative.dev/maxScale\"]: ObjectMeta.annotations{} must be a string" \
  "unknown field 'replicas' in ServiceSpec" \
  "ContainerPort.containerPort must be an integer (int32), got string"

echo "== gcp_schema_check.py: setup problems exit 2"
expect "missing discovery document" 2 "cannot find discovery document" -- \
  "$py" "$chk" --kind alert-policy --discovery "$tmp/nowhere" "$good/alerts/api-latency.yaml"

echo "== inline Cloud Build scripts + shellcheck"
"$py" "$chk" --kind cloudbuild --dump-scripts "$tmp/good" "$good/cloudbuild.yaml" >/dev/null 2>&1
"$py" "$chk" --kind cloudbuild --dump-scripts "$tmp/bad" "$bad/cloudbuild.bad-shell.yaml" >/dev/null 2>&1
expect "dumped scripts of good cloudbuild.yaml" 0 \
  "cloudbuild.step02.sh" "cloudbuild.step03.sh" "cloudbuild.step04.sh" -- ls "$tmp/good"
expect "\$\$ becomes \$ in a bash -c body" 0 "url=\"\$(gcloud run services describe" -- cat "$tmp/good/cloudbuild.step03.sh"
expect "a script without #! gets Cloud Build's /bin/sh" 0 '#!/bin/sh' -- head -n 1 "$tmp/good/cloudbuild.step04.sh"
expect "shellcheck -S style on good scripts" 0 -- shellcheck --norc -S style "$tmp"/good/*.sh
expect "shellcheck -S style on bad scripts" 1 SC2164 SC2045 SC2086 SC1010 -- \
  shellcheck --norc -S style -f gcc "$tmp"/bad/*.sh

echo "== run.sh end to end"
expect "run.sh fixtures/good" 0 "validators: " ", 0 failed" -- bash "$here/run.sh" "$good"
out="$(bash "$here/run.sh" "$bad" 2>&1)"
rc=$?
if [ "$rc" = 1 ] && printf '%s\n' "$out" | tail -n 1 | grep -qE '^validators: [0-9]+ passed, [1-9][0-9]* failed$'; then
  result ok "run.sh fixtures/bad: exit 1 and summary line"
else
  result FAIL "run.sh fixtures/bad: exit $rc, want 1 and a summary line" "$out"
fi
failed_files="$(printf '%s\n' "$out" | awk '$1 == "FAIL" { print $3 }' | sort -u)"
while IFS= read -r -d '' f; do
  if printf '%s\n' "$failed_files" | grep -qxF -e "$f"; then
    result ok "run.sh rejects ${f#"$here"/}"
  else
    result FAIL "run.sh should reject ${f#"$here"/}" "$out"
  fi
done < <(find "$bad" -type f -print0 | sort -z)
mkdir -p "$tmp/empty/docs" && echo "not an artifact" > "$tmp/empty/docs/README.md"
expect "run.sh on a folder without artifacts" 1 "no generated artifact found" "validators: 0 passed, 1 failed" -- \
  bash "$here/run.sh" "$tmp/empty"
expect "run.sh on a missing folder" 1 "not a directory" -- bash "$here/run.sh" "$tmp/missing"
mkdir -p "$tmp/docker" && cp "$good/Dockerfile" "$tmp/docker/"
if PATH=/usr/bin:/bin command -v hadolint >/dev/null 2>&1; then
  result ok "run.sh with a missing tool: skipped (hadolint is installed in /usr/bin or /bin)"
else
  expect "run.sh with hadolint missing from PATH" 1 "hadolint: not found on PATH" -- \
    env PATH=/usr/bin:/bin bash "$here/run.sh" "$tmp/docker"
fi

echo "selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
