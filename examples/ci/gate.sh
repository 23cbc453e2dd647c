#!/usr/bin/env bash
# Train and register a model from a pipeline YAML, then gate the new version.
# Exits non-zero when the run fails or any promotion gate fails, so CI goes red.
#   examples/ci/gate.sh PIPELINE_YAML
set -euo pipefail
pipeline="${1:?usage: gate.sh PIPELINE_YAML}"
shipyard="${SHIPYARD:-shipyard}"

result="$(mktemp)"
trap 'rm -f "$result"' EXIT
"$shipyard" run "$pipeline" --json --no-deploy > "$result"

read -r model version < <(python3 -c '
import json, sys
registration = json.load(open(sys.argv[1]))["registration"]
print(registration["model_name"], registration["model_version"])
' "$result")

echo "registered $model version $version; evaluating its gates"
"$shipyard" gate "$model" "$version"
"$shipyard" models verify "$model" "$version"
