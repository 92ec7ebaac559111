# Sourced by the other scripts: makes sure the project-local virtual environment holds
# cargo-lambda and moto's server, and puts it first on PATH.
# Needs only Python 3 with venv and pip, and Rust.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
CARGO_LAMBDA_VERSION=1.9.2

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.requirements-$(cksum < "$ROOT/requirements-dev.txt" | cut -d' ' -f1)-$CARGO_LAMBDA_VERSION"
if [ ! -f "$stamp" ]; then
  echo "==> installing moto[server] and cargo-lambda $CARGO_LAMBDA_VERSION into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "cargo-lambda==$CARGO_LAMBDA_VERSION"
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
# No __pycache__ in the project: cargo lambda watch restarts the functions on any new file.
export PYTHONDONTWRITEBYTECODE=1

# Static credentials and region for the emulator; the SDKs need some.
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"

local_aws() { "$VENV/bin/python" "$ROOT/scripts/local_aws.py" "$@"; }

# start_moto PORT LOGFILE: starts moto's server on 127.0.0.1:PORT, serving one request at a
# time (see `serve` in local_aws.py: moto's transactions are not atomic otherwise); sets MOTO_PID.
start_moto() {
  "$VENV/bin/python" "$ROOT/scripts/local_aws.py" serve --port "$1" >"$2" 2>&1 &
  MOTO_PID=$!
  local_aws wait --endpoint "http://127.0.0.1:$1"
}
