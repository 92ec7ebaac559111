#!/usr/bin/env bash
# `make lint-infra`: infra/template.yaml must be clean under cfn-lint (a warning fails too),
# translate with the AWS SAM translator, lint clean again as the CloudFormation it becomes, and
# have no checkov finding: every suppression sits in the template with its reason (a test
# checks that each has one). infra/samconfig.toml may override only parameters the template
# has. Offline; the tools live in .venv-lint.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-lint"
cd "$ROOT"

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.requirements-$(cksum < requirements-lint.txt | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  echo "==> installing cfn-lint, aws-sam-translator and checkov into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements-lint.txt
  touch "$stamp"
fi

template=infra/template.yaml
translated=target/template.cfn.json
mkdir -p target

echo "==> cfn-lint $template"
"$VENV/bin/cfn-lint" -- "$template"

echo "==> SAM translator"
"$VENV/bin/python" scripts/sam_translate.py "$template" > "$translated"
echo "==> cfn-lint $translated"
"$VENV/bin/cfn-lint" -- "$translated"

echo "==> infra/samconfig.toml"
"$VENV/bin/python" - "$template" infra/samconfig.toml <<'PY'
import shlex, sys, tomllib
from samtranslator.yaml_helper import yaml_parse
parameters = yaml_parse(open(sys.argv[1], encoding="utf-8").read())["Parameters"]
with open(sys.argv[2], "rb") as f:
    deploy = tomllib.load(f)["default"]["deploy"]["parameters"]
overrides = dict(kv.split("=", 1) for kv in shlex.split(deploy.get("parameter_overrides", "")))
unknown = sorted(set(overrides) - set(parameters))
if unknown:
    sys.exit(f"samconfig.toml overrides parameters the template does not have: {unknown}")
PY

# --skip-download: no calls to the vendor's platform (offline; no severities without it, so
# any unsuppressed finding fails, whatever its severity).
for file in "$template" "$translated"; do
  echo "==> checkov $file"
  "$VENV/bin/checkov" -f "$file" --framework cloudformation --skip-download --compact --quiet
done
echo "==> infra lint clean"
