#!/usr/bin/env bash
# Attacks the public API with schemathesis (every check) and fails on any
# finding: the OpenAPI document must describe exactly what the server does.
#
#   bash tests/schemathesis/run.sh            # 200 cases per operation
#   EXAMPLES=1000 bash tests/schemathesis/run.sh
#   bash tests/schemathesis/run.sh --install-only   # only the venv (CI, ahead of time)
#
# Two runs against a fresh collector (abuse limits off, so rate limits do
# not hide the logic):
#   1. the document as served;
#   2. the same document with `site` pinned to the collector's real site
#      key, so generated submissions reach validation, storage and
#      idempotency instead of stopping at 403 unknown_site.
# Needs python3 (a venv is made under target/) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXAMPLES="${EXAMPLES:-200}"
SEED="${SEED:-20261130}"
VERSION=4.32.5
venv=target/schemathesis-venv
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q " $VERSION\$"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$VERSION"
fi
[ "${1:-}" = --install-only ] && exit 0

cargo build --quiet -p earshot-collector --bin earshot
port=$((20000 + RANDOM % 20000))
EARSHOT_RATE_LIMIT_PER_IP=0 EARSHOT_RATE_LIMIT_PER_SITE=0 EARSHOT_MIN_FILL_MS=0 \
EARSHOT_MAX_CONNECTIONS_PER_IP=0 EARSHOT_LOG=error \
  "${CARGO_TARGET_DIR:-target}/debug/earshot" serve --addr "127.0.0.1:$port" --db "$work/earshot.db" >"$work/server.out" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  grep -q 'data-site=' "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
key=$(grep -o 'data-site="[^"]*"' "$work/server.out" | head -n 1 | cut -d'"' -f2)
[ -n "$key" ] || { echo "the collector did not start"; cat "$work/server.out"; exit 1; }

curl -fsS "$base/api/openapi.json" >"$work/served.json"
python3 - "$work/served.json" "$key" "$work/pinned.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["components"]["schemas"]["FeedbackRequest"]["properties"]["site"] = {"type": "string", "enum": [sys.argv[2]]}
json.dump(doc, open(sys.argv[3], "w"))
PY

status=0
run() {
  "$venv/bin/schemathesis" --config-file tests/schemathesis/schemathesis.toml \
    run "$@" --exclude-tag staff --checks all --continue-on-failure \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers 2 --no-color || status=1
}
echo "== schemathesis: the document as served"
run "$base/api/openapi.json"
echo "== schemathesis: site pinned to $key"
run "$work/pinned.json" --url "$base"
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM entries').fetchone()[0])" "$work/earshot.db")
echo "== entries stored by the runs: $stored"
exit $status
