#!/usr/bin/env bash
# Replays the README's curl tour exactly as the README runs it (the posts
# example served by its first command, on a freshly seeded database) and
# prints each command with its real output, as Markdown, so the README
# shows what the commands really produce. Usage: scripts/readme-tour.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --bin warden
rm -f examples/posts/posts.db examples/posts/posts.db-shm examples/posts/posts.db-wal
log=$(mktemp)
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
# The README's first command, without cargo's own output.
./target/release/warden serve examples/posts/warden.toml --dev --seed > "$log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -s localhost:8080/healthz >/dev/null && break; sleep 0.1; done

run() {
  printf '$ %s\n' "$1"
  case "$1" in
    *=\$\(*) eval "$1"; printf '\n'; return ;;  # an assignment: nothing to show
  esac
  eval "$1" 2>&1 | sed -e 's/"access_token":"[^"]*"/"access_token":"eyJhbGciOi…"/' \
                       -e 's/"refresh_token":"[^"]*"/"refresh_token":"…"/' \
                       -e 's/^date: .*/date: …/I'
  printf '\n'
}

echo '```console'
run 'curl -s "localhost:8080/api/posts?limit=2"'
run "TOKEN=\$(curl -s -X POST localhost:8080/auth/token -d 'grant_type=password&username=user23@example.com&password=password123' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"
run 'curl -s -X POST localhost:8080/auth/token -d "grant_type=password&username=user23@example.com&password=password123"'
run 'curl -si -X DELETE localhost:8080/api/posts/4 -H "Authorization: Bearer $TOKEN"'
run 'curl -si -X DELETE localhost:8080/api/posts/8 -H "Authorization: Bearer $TOKEN"'
run 'curl -s -X PATCH localhost:8080/api/posts/9 -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d '"'"'{"title": "updated title", "published": true}'"'"''
run 'curl -s localhost:8080/api/posts/999'
run 'curl -si -X POST localhost:8080/api/posts -H "Content-Type: application/json" -d '"'"'{"title": "hi", "content": "anonymous"}'"'"''
run 'curl -s -X POST localhost:8080/api/posts -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d '"'"'{"title": "mine", "content": "x", "owner_id": 21}'"'"''
run 'curl -s -G localhost:8080/api/posts --data-urlencode "filter=row.owner_id == 23" --data-urlencode "sort=-created_at"'
run './target/release/warden explain examples/posts/warden.toml --as 23 delete posts/4'
echo '```'
