#!/usr/bin/env bash
# Generated API fuzzing: schemathesis (from PyPI, in a virtualenv this script
# makes) against /openapi.json of a running, freshly seeded example, logged
# in as a seeded user. Passes only with zero server errors and zero
# responses that break the document (status codes, content types, headers,
# body schemas).
#
#   scripts/schemathesis.sh [EXAMPLE] [MAX_EXAMPLES] [MAX_SECONDS]
#
# EXAMPLE defaults to posts, MAX_EXAMPLES (cases per operation and phase) to
# 50. With MAX_SECONDS, fuzzing and stateful phases repeat until that time
# budget is spent (schemathesis' --max-time). CI runs it bounded through
# crates/warden-cli/tests/schemathesis.rs; a long run is e.g.
#   scripts/schemathesis.sh posts 1000 1200
# Environment:
#   WARDEN_BIN                  the warden binary (default: cargo build, then target/debug/warden)
#   WARDEN_SCHEMATHESIS_DB      database URL (default: a SQLite file in a temp folder);
#                               a PostgreSQL URL must name an empty database
#   WARDEN_SCHEMATHESIS_VENV    where the virtualenv lives (default: $CARGO_TARGET_DIR or target/, /schemathesis-venv)
#   WARDEN_SCHEMATHESIS_REPORT  folder for the JUnit report (default: none)
#   WARDEN_SCHEMATHESIS_SEED    generation seed (default: 1, so runs repeat)
#   WARDEN_SCHEMATHESIS_PHASES  default examples,fuzzing,stateful: schemathesis 4.32.5's
#                               coverage phase stops with an internal KeyError on this
#                               document (its own bug, in coverage/_schema.py _negative_type)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
EXAMPLE="${1:-posts}"
MAX_EXAMPLES="${2:-50}"
MAX_SECONDS="${3:-}"
SCHEMATHESIS_VERSION="4.32.5"
CONFIG="$ROOT/examples/$EXAMPLE/warden.toml"
[ -f "$CONFIG" ] || { echo "no example $EXAMPLE ($CONFIG)" >&2; exit 2; }

VENV="${WARDEN_SCHEMATHESIS_VENV:-${CARGO_TARGET_DIR:-$ROOT/target}/schemathesis-venv}"
if [ ! -x "$VENV/bin/st" ] || [ "$("$VENV/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  command -v python3 >/dev/null || { echo "SCHEMATHESIS NOT RUN: python3 is missing" >&2; exit 3; }
  rm -rf "$VENV"
  python3 -m venv "$VENV" || { echo "SCHEMATHESIS NOT RUN: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 3; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
    || { echo "SCHEMATHESIS NOT RUN: pip could not install schemathesis from PyPI" >&2; exit 3; }
fi

if [ -z "${WARDEN_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --quiet --bin warden)
  WARDEN_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/warden"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/warden-schemathesis.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
DATABASE="${WARDEN_SCHEMATHESIS_DB:-sqlite://$WORK/schemathesis.db}"
export WARDEN_JWT_SECRET="schemathesis-secret-schemathesis-secret-0123"
"$WARDEN_BIN" serve "$CONFIG" --listen 127.0.0.1:0 --database "$DATABASE" --seed >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 300); do
  BASE="$(sed -n 's/^warden listening on //p' "$WORK/stdout" | head -1)"
  [ -n "$BASE" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/stderr" >&2; echo "warden did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$BASE" ] || { echo "warden printed no address" >&2; exit 1; }

# The first seeded user's login (every seeded password is password123).
LOGIN="$(python3 - "$CONFIG" <<'PY'
import sys, tomllib, pathlib
config = tomllib.loads(pathlib.Path(sys.argv[1]).read_text())
auth = config["auth"]
seed = tomllib.loads((pathlib.Path(sys.argv[1]).parent / "seed.toml").read_text())
print(seed[auth["users"]][0][auth["login"]])
PY
)"
TOKEN="$(curl -sf -X POST "$BASE/auth/token" --data-urlencode grant_type=password \
  --data-urlencode "username=$LOGIN" --data-urlencode password=password123 \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

EXTRA=()
if [ -n "$MAX_SECONDS" ]; then
  EXTRA+=(--max-time "$MAX_SECONDS")
fi
if [ -n "${WARDEN_SCHEMATHESIS_REPORT:-}" ]; then
  EXTRA+=(--report junit --report-dir "$WARDEN_SCHEMATHESIS_REPORT")
fi
echo "schemathesis: $EXAMPLE on $DATABASE at $BASE as $LOGIN, $MAX_EXAMPLES examples per operation${MAX_SECONDS:+, for $MAX_SECONDS s}"
set +e
cd "$WORK"  # schemathesis keeps its example database in the working folder
# `logout` is left out: it would end the session of the token every other
# operation is called with (tests/auth.rs covers it).
"$VENV/bin/st" run "$BASE/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --seed "${WARDEN_SCHEMATHESIS_SEED:-1}" \
  --phases "${WARDEN_SCHEMATHESIS_PHASES:-examples,fuzzing,stateful}" \
  --workers 2 \
  --request-timeout 10 \
  --suppress-health-check all \
  --warnings off \
  --exclude-operation-id logout \
  "${EXTRA[@]}"
STATUS=$?
set -e
if grep -q "panicked" "$WORK/stderr"; then
  echo "warden panicked during the run:" >&2
  grep -A5 "panicked" "$WORK/stderr" >&2
  STATUS=1
fi
exit "$STATUS"
