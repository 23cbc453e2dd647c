#!/usr/bin/env bash
# Train and register a model from a pipeline YAML, then gate the new version.
# Exits non-zero when the run fails or any promotion gate fails, so CI goes red
# (10: the new version was rejected by its gates; see `shipyard --help` for every code).
#   examples/ci/gate.sh PIPELINE_YAML
set -euo pipefail
pipeline="${1:?usage: gate.sh PIPELINE_YAML}"
shipyard="${SHIPYARD:-shipyard}"
rejected=10

result="$(mktemp)"
trap 'rm -f "$result"' EXIT
status=0
"$shipyard" run "$pipeline" --json --no-deploy > "$result" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne "$rejected" ]; then
  exit "$status"
fi

read -r model version < <(python3 -c '
import json, sys
registration = json.load(open(sys.argv[1]))["registration"]
print(registration["model_name"], registration["model_version"])
' "$result")

if [ "$status" -eq "$rejected" ]; then
  echo "registered $model version $version, and its gates rejected it:"
  "$shipyard" models show "$model" "$version"
  exit "$rejected"
fi
echo "registered $model version $version; evaluating its gates"
"$shipyard" gate "$model" "$version"
"$shipyard" models verify "$model" "$version"
