#!/usr/bin/env bash
# Validate every artifact that sight generated under the given directories.
#
#   bash tools/validate/run.sh DIR...
#
# The tools come from PATH: put the bin/ of a venv made from tools/validate/requirements.txt
# first on PATH (python3 there must have PyYAML and google-api-python-client). PYTHON=...
# overrides the interpreter that runs gcp_schema_check.py.
#
# By file name (each DIR is walked recursively; .git is skipped):
#   docker-compose*.yml|yaml   docker-compose -f F -p sight config -q
#                              check-jsonschema --builtin-schema vendor.compose-spec F
#   Dockerfile, Dockerfile.*, *.Dockerfile
#                              hadolint --no-color F (default threshold "info", no ignore list)
#   cloudbuild*.yaml|yml|json  gcp_schema_check.py --kind cloudbuild, then
#                              then `shellcheck -S style` on every inline step script it dumps
#   *.alert.yaml|yml|json, or any .yaml|.yml|.json under an alerts/ folder
#                              gcp_schema_check.py --kind alert-policy
#   *.service.yaml|yml|json, or any .yaml|.yml|.json under a cloudrun/ or cloud-run/ folder
#                              gcp_schema_check.py --kind cloudrun-service
#   every *.yml|*.yaml         yamllint -s -c tools/validate/yamllint.yaml
# check-jsonschema's vendor.cloudbuild schema is deliberately not used: it rejects the
# snake_case keys gcloud accepts and misses stray top-level keys.
#
# Prints one line per file and validator ("ok" or "FAIL" followed by the tool's output,
# indented), then "validators: N passed, M failed". Exit status 1 if anything failed, a tool
# is missing, a DIR does not exist or contains no artifact; 2 on a usage error.
set -u

if [ $# -eq 0 ]; then
  echo "usage: bash tools/validate/run.sh DIR..." >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
checker="$here/gcp_schema_check.py"
yamllint_conf="$here/yamllint.yaml"
py="${PYTHON:-python3}"

# Make the verdicts independent of the caller's environment and home directory: no
# HADOLINT_* overrides (e.g. HADOLINT_FAILURE_THRESHOLD), no SHELLCHECK_OPTS, no .shellcheckrc
# (--norc) and no user or project .hadolint.yaml (an explicit config with an empty ignore list).
while IFS= read -r var; do
  case "$var" in HADOLINT_*) unset "$var" ;; esac
done < <(compgen -e)
unset SHELLCHECK_OPTS

tmp="$(mktemp -d "${TMPDIR:-/tmp}/sight-validate.XXXXXX")" || exit 2
trap 'rm -rf "$tmp"' EXIT
printf 'ignored: []\n' > "$tmp/hadolint.yaml"

passed=0
failed=0

report() {  # report ok|FAIL VALIDATOR FILE [DETAILS]
  printf '%-4s  %-20s %s\n' "$1" "$2" "$3"
  if [ -n "${4:-}" ]; then
    printf '%s\n' "$4" | sed 's/^/      /'
  fi
  if [ "$1" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

check() {  # check VALIDATOR FILE CMD... (run in directory $in_dir when set)
  local name="$1" file="$2" rc out
  shift 2
  out=""
  if ! command -v "$1" >/dev/null 2>&1; then
    report FAIL "$name" "$file" "$1: not found on PATH (install tools/validate/requirements.txt)"
    return 1
  fi
  out="$(cd "${in_dir:-.}" && "$@" 2>&1 </dev/null)"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    report ok "$name" "$file"
  else
    report FAIL "$name" "$file" "$(printf 'exit status %s\n%s' "$rc" "$out")"
  fi
  return "$rc"
}

under() {  # under FOLDER DIR FILE: FILE lies below a directory named FOLDER (DIR included)
  local rel
  rel="$(basename "$2")/${3#"$2"/}"
  case "/$(dirname "$rel")/" in */"$1"/*) return 0 ;; esac
  return 1
}

n_cloudbuild=0

validate_cloudbuild() {  # validate_cloudbuild FILE
  local f="$1" dump scripts
  n_cloudbuild=$((n_cloudbuild + 1))
  dump="$tmp/cloudbuild$n_cloudbuild"
  check gcp-cloudbuild "$f" "$py" "$checker" --kind cloudbuild --dump-scripts "$dump" "$f"
  [ -d "$dump" ] || return 0
  scripts=("$dump"/*.sh)
  [ -e "${scripts[0]}" ] || return 0
  # -S style is shellcheck's lowest severity, so every finding fails. Findings name the
  # dumped script <stem>.stepNN.sh, NN = index in steps:; line 1 of a body that had no
  # "#!" line is the "#!/bin/sh" or "#!/bin/bash" line that was added.
  in_dir="$dump" check shellcheck "$f" shellcheck --norc -S style -f gcc "${scripts[@]##*/}"
}

validate_file() {  # validate_file DIR FILE ; returns 0 if FILE is an artifact
  local dir="$1" f="$2" base kind=""
  base="$(basename "$f")"
  local is_artifact=1
  case "$base" in
    docker-compose*.yml | docker-compose*.yaml)
      check docker-compose "$f" docker-compose -f "$f" -p sight config -q
      check compose-spec "$f" check-jsonschema --builtin-schema vendor.compose-spec "$f"
      is_artifact=0 ;;
    *.dockerignore) ;;
    Dockerfile | Dockerfile.* | *.Dockerfile)
      check hadolint "$f" hadolint --config "$tmp/hadolint.yaml" --no-color "$f"
      is_artifact=0 ;;
    cloudbuild*.yaml | cloudbuild*.yml | cloudbuild*.json)
      validate_cloudbuild "$f"
      is_artifact=0 ;;
    *.alert.yaml | *.alert.yml | *.alert.json) kind=alert-policy ;;
    *.service.yaml | *.service.yml | *.service.json) kind=cloudrun-service ;;
    *.yaml | *.yml | *.json)
      if under alerts "$dir" "$f"; then
        kind=alert-policy
      elif under cloudrun "$dir" "$f" || under cloud-run "$dir" "$f"; then
        kind=cloudrun-service
      fi ;;
  esac
  if [ -n "$kind" ]; then
    check "gcp-$kind" "$f" "$py" "$checker" --kind "$kind" "$f"
    is_artifact=0
  fi
  case "$base" in
    *.yml | *.yaml)
      check yamllint "$f" yamllint -s -c "$yamllint_conf" "$f"
      is_artifact=0 ;;
  esac
  return "$is_artifact"
}

for dir in "$@"; do
  dir="${dir%/}"
  [ -n "$dir" ] || dir=/
  if [ ! -d "$dir" ]; then
    report FAIL artifacts "$dir" "not a directory"
    continue
  fi
  found=0
  while IFS= read -r -d '' f; do
    if validate_file "$dir" "$f"; then found=$((found + 1)); fi
  done < <(find "$dir" -name .git -prune -o -type f -print0 | sort -z)
  if [ "$found" -eq 0 ]; then
    report FAIL artifacts "$dir" "no generated artifact found (docker-compose*.yml, Dockerfile, cloudbuild*.yaml, alerts/, cloudrun/, *.yaml)"
  fi
done

echo "validators: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
