#!/usr/bin/env bash
# Replays an example's curl tour (examples/NAME/tour.txt) against a fresh,
# seeded copy of the example and prints each command with its real output,
# as Markdown, for the example's README.
#
#   scripts/example-tour.sh NAME [CONFIG]
#
# CONFIG defaults to warden.toml in the example's folder. The database is
# a SQLite file in a temporary folder, or, when WARDEN_TOUR_POSTGRES holds
# an admin URL (postgres://postgres@127.0.0.1:5432/postgres), a PostgreSQL
# database created for the tour and dropped afterwards.
#
# tour.txt (or TOUR=FILE): a line starting with `## ` is prose (printed
# between code blocks, without the hashes); a `#! ` line is a setup
# command, run but not printed; other `#` lines are comments; every other
# non-empty line is one shell command, run in one shell session (so
# variables such as $TOKEN carry over) with `localhost:8080` the server.
# Commands see $WARDEN (the binary), $DB (the database URL), $CONFIG (the
# config, absolute) and $TOUR_TMP (a scratch folder).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/example-tour.sh NAME [CONFIG]}
config=${2:-examples/$name/warden.toml}
tour=${TOUR:-examples/$name/tour.txt}
target=${CARGO_TARGET_DIR:-target}
cargo build -q --release --bin warden
warden=$(realpath "$target/release/warden")
work=$(mktemp -d)
port=${TOUR_PORT:-8080}
database="sqlite://$work/$name.db"
pg_admin=${WARDEN_TOUR_POSTGRES:-}
if [ -n "$pg_admin" ]; then
  db="tour_${name}_$$"
  psql -q "$pg_admin" -c "CREATE DATABASE \"$db\"" >/dev/null
  database="${pg_admin%/*}/$db"
fi
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  [ -n "$pg_admin" ] && psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export WARDEN_JWT_SECRET="tour-secret-tour-secret-tour-secret-0123456789"
"$warden" serve "$config" --seed --listen "127.0.0.1:$port" --database "$database" \
  > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -s "localhost:$port/healthz" >/dev/null && break; sleep 0.1; done

# Tokens, cookies and dates change from run to run; shorten them.
tidy() {
  sed -e 's/"access_token":"[^"]*"/"access_token":"eyJhbGciOi…"/' \
      -e 's/"refresh_token":"[^"]*"/"refresh_token":"…"/' \
      -e 's/"csrf_token":"[^"]*"/"csrf_token":"…"/' \
      -e 's/warden_session=[^;]*;/warden_session=…;/' \
      -e 's/^date: .*/date: …/I' \
      -e 's/"sid":"[^"]*"/"sid":"…"/' \
      -e 's/"jti":"[^"]*"/"jti":"…"/' \
      -e 's/"exp":[0-9]*/"exp":…/' \
      -e 's/"iat":[0-9]*/"iat":…/' \
      -e 's/"nbf":[0-9]*/"nbf":…/' \
      -e "s|$work|\$TMP|g" \
      -e "s|localhost:$port|localhost:8080|g"
}

in_block=0
open_block() { [ $in_block = 1 ] || { echo '```console'; in_block=1; }; }
close_block() { [ $in_block = 0 ] || { echo '```'; echo; in_block=0; }; }
export WARDEN="$warden" DB="$database" CONFIG="$(realpath "$config")" TOUR_TMP="$work"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    '## '*) close_block; printf '%s\n\n' "${line#\#\# }" ;;
    '#! '*) line=${line#\#! }; eval "${line//localhost:8080/localhost:$port}" < /dev/null ;;
    '#'* | '') ;;
    *)
      open_block
      printf '$ %s\n' "$line" | sed -e 's|\$WARDEN|warden|g' -e 's|\$CONFIG|'"$config"'|g' -e 's| --database "\$DB"||g'
      eval "${line//localhost:8080/localhost:$port}" < /dev/null > "$work/out" 2>&1 || true
      output=$(tidy < "$work/out")
      if [ -n "$output" ]; then printf '%s\n\n' "$output"; else printf '\n'; fi
      ;;
  esac
done < "$tour"
close_block
