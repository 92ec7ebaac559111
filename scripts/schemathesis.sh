#!/usr/bin/env bash
# Schemathesis against the admin function, from openapi/admin.yaml: no 5xx and no response
# that breaks the document. Run by scripts/test.sh in its end-to-end phase, against
# `cargo lambda watch` with TRUSTGATE_ADMIN_AUTH=none; usable by hand against `make dev`:
#   scripts/schemathesis.sh http://127.0.0.1:9000/lambda-url/admin
#
# Bounded and reproducible: a fixed seed, no example database, at most 20 examples per
# operation and phase, stateful scenarios of at most 20 steps (scripts/schemathesis.toml), one
# worker.
#
# Checks, and why the others are left out (each is a limit of what the document can say, not
# of the service):
#   not_a_server_error, response_schema_conformance, content_type_conformance,
#   response_headers_conformance, status_code_conformance — run.
#   ignored_auth — left out: the run uses TRUSTGATE_ADMIN_AUTH=none (cargo lambda watch has no
#     IAM authorizer), so requests without SigV4 are served on purpose; IAM is covered by
#     tests/admin_http.rs (with_iam_auth_*).
#   positive_data_acceptance / negative_data_rejection — left out: the document cannot express
#     rules that span members (exactly one of jwks_uri and certificate, inside a merge patch),
#     cursors that must come from a previous page, or records that must exist first, so valid-
#     looking inputs are rightly refused (400/404/409) and schemathesis would call them false.
#   use_after_free, ensure_resource_availability — run, in the stateful phase too: it follows
#     the document's links (components/links) from a created organization to its issuers and
#     applications and from a created record to its own operations, so those are reached with
#     identifiers that exist, not only with generated ones (which are 404).
# Bodies are kept UTF-8 (generated strings, and scripts/schemathesis_hooks.py for raw bytes): a
# body that is not UTF-8 makes `cargo lambda watch` itself answer 500 before the function runs
# (API Gateway base64-encodes such bodies, and the function answers 400 for them; see
# tests/admin_organizations.rs refuses_bodies_that_are_not_json_too_large_or_malformed).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
url="${1:-${TRUSTGATE_E2E_ADMIN_URL:?the admin base URL}}"
st="${ROOT}/.venv/bin/st"
[ -x "$st" ] || st=st
# Run from a scratch directory and write no bytecode: `cargo lambda watch` restarts the
# functions when files in the project change, which would cut requests in flight.
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
cd "$workdir"
export PYTHONDONTWRITEBYTECODE=1
export SCHEMATHESIS_HOOKS="${SCHEMATHESIS_HOOKS:-schemathesis_hooks}"
export PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}"
"$st" --config-file "$ROOT/scripts/schemathesis.toml" run "$ROOT/openapi/admin.yaml" \
  --url "$url" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance,response_headers_conformance,status_code_conformance,use_after_free,ensure_resource_availability \
  --max-examples 20 \
  --seed 20261126 \
  --generation-database none \
  --generation-codec utf-8 \
  --workers 1 \
  --request-timeout 20 \
  --phases examples,coverage,fuzzing,stateful \
  --max-failures 20
