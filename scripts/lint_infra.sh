#!/usr/bin/env bash
# `make lint-infra`: infra/template.yaml must be clean under cfn-lint (a warning fails too),
# translate with the AWS SAM translator, lint clean again as the CloudFormation it becomes, and
# have no checkov finding: every suppression sits in the template with its reason (a test
# checks that each has one). Offline; the tools live in .venv-lint.
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

# --skip-download: no calls to the vendor's platform (offline; no severities without it, so
# any unsuppressed finding fails, whatever its severity).
for file in "$template" "$translated"; do
  echo "==> checkov $file"
  "$VENV/bin/checkov" -f "$file" --framework cloudformation --skip-download --compact --quiet
done
echo "==> infra lint clean"
