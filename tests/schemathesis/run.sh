#!/usr/bin/env bash
# Attacks the API with schemathesis and fails on any finding: the OpenAPI
# document must describe exactly what the server does.
#
#   bash tests/schemathesis/run.sh            # 200 cases per operation
#   EXAMPLES=1000 bash tests/schemathesis/run.sh
#   bash tests/schemathesis/run.sh --install-only   # only the venv (CI, ahead of time)
#
# Runs against a fresh collector (abuse limits off, so rate limits do
# not hide the logic):
#   1. the public API, the document as served, every check;
#   2. the same with `site` pinned to the collector's real site key, so
#      generated submissions reach validation, storage and idempotency
#      instead of stopping at 403 unknown_site;
#   3. attaching images, with the entry and its status secret pinned to a
#      real entry (which holds one real image), so generated bodies reach
#      the image checks instead of stopping at 401;
#   4. the staff API (tag `staff`) with an administrator's write token, its
#      `reference` and `promise` path parameters pinned to seeded entries
#      and their promises and attachment ids to that image, so reads and
#      actions reach the rules instead of stopping at 404 (then once more
#      without a token or with a wrong one). Every check but
#      positive_data_acceptance: staff input names things that must exist
#      (a colleague, a site, a cursor this API gave out), depends on the
#      clock (a promise is not due in the past) or on another field (`to`
#      not before `from`), which no schema can say; each such refusal is a
#      documented 422 naming its field, and a request the schema forbids
#      must still be refused.
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
  "$venv/bin/pip" install --quiet -c tests/schemathesis/constraints.txt "schemathesis==$VERSION"
fi
[ "${1:-}" = --install-only ] && exit 0

cargo build --quiet -p earshot-collector --bin earshot
earshot="${CARGO_TARGET_DIR:-target}/debug/earshot"
db="$work/earshot.db"
port=$((20000 + RANDOM % 20000))
EARSHOT_RATE_LIMIT_PER_IP=0 EARSHOT_RATE_LIMIT_PER_SITE=0 EARSHOT_MIN_FILL_MS=0 \
EARSHOT_MAX_CONNECTIONS_PER_IP=0 EARSHOT_LOG=error \
  "$earshot" serve --addr "127.0.0.1:$port" --db "$db" >"$work/server.out" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  grep -q 'data-site=' "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
key=$(grep -o 'data-site="[^"]*"' "$work/server.out" | head -n 1 | cut -d'"' -f2)
[ -n "$key" ] || { echo "the collector did not start"; cat "$work/server.out"; exit 1; }

curl -fsS "$base/api/openapi.json" >"$work/served.json"
python3 - "$work/served.json" "$key" "$work/pinned.json" "$base" "$work/upload.json" "$work/image.txt" <<'PY'
import json, struct, sys, urllib.request, zlib
doc = json.load(open(sys.argv[1]))
site, base = sys.argv[2], sys.argv[4]
pinned = json.loads(json.dumps(doc))
pinned["components"]["schemas"]["FeedbackRequest"]["properties"]["site"] = {"type": "string", "enum": [site]}
json.dump(pinned, open(sys.argv[3], "w"))
# An entry with one real image: attaching to it with its secret reaches
# the image checks, and the staff API can serve the image.
def post(path, body, headers):
    headers = {"Origin": "http://localhost:8000", **headers}
    return json.load(urllib.request.urlopen(urllib.request.Request(base + path, body, headers)))
accepted = post("/api/v1/feedback", json.dumps({"site": site, "kind": "complaint", "message": "See the picture"}).encode(), {"Content-Type": "application/json"})
secret = accepted["status_url"].rsplit(".", 1)[1]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
post(f"/api/v1/feedback/{accepted['id']}/attachments", png, {"Content-Type": "image/png", "Authorization": "Bearer " + secret})
upload = doc["paths"]["/api/v1/feedback/{id}/attachments"]["post"]
for parameter in upload["parameters"]:
    if parameter["name"] == "id":
        parameter["schema"] = {"type": "string", "enum": [accepted["id"]]}
    if parameter["name"] == "Authorization":
        parameter["schema"] = {"type": "string", "enum": ["Bearer " + secret]}
json.dump(doc, open(sys.argv[5], "w"))
open(sys.argv[6], "w").write(accepted["reference"])
PY

status=0
# run DOCUMENT [OPTION…]; CHECKS and WORKERS as the environment says.
run() {
  "$venv/bin/schemathesis" --config-file tests/schemathesis/schemathesis.toml \
    run "$@" --checks "${CHECKS:-all}" --continue-on-failure \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers "${WORKERS:-2}" --no-color || status=1
}
echo "== schemathesis: the document as served"
run "$base/api/openapi.json" --exclude-tag staff
echo "== schemathesis: site pinned to $key"
run "$work/pinned.json" --url "$base" --exclude-tag staff
# Any bytes under an image type fit the schema, yet only a real image is
# stored, so positive_data_acceptance cannot hold here.
echo "== schemathesis: images attached to a real entry with its secret"
run "$work/upload.json" --url "$base" --include-operation-id attachImage \
  --exclude-checks positive_data_acceptance
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM entries').fetchone()[0])" "$db")
echo "== entries stored by the runs: $stored"

# The staff API: an administrator, seeded entries, a write token.
"$earshot" user add --db "$db" --email schemathesis@example.com --role admin --generate-password >/dev/null
"$earshot" dev seed --db "$db" --count 200 >/dev/null
token=$("$earshot" token add --db "$db" --email schemathesis@example.com --name schemathesis --scope write | grep -o 'esk_[A-Za-z0-9]*')
[ -n "$token" ] || { echo "no API token was made"; exit 1; }
python3 - "$work/served.json" "$base" "$token" "$work/staff.json" "$(cat "$work/image.txt")" <<'PY'
import datetime, json, sys, urllib.request
doc, base, token = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def call(path, body=None):
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    return json.load(urllib.request.urlopen(urllib.request.Request(base + path, data, headers)))
# A few entries, each answered with a promise, so that a generated
# reference and promise id are now and then a pair and settling reaches
# the rules.
due = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
references = [e["reference"] for e in call("/api/v1/entries?view=all&limit=8")["entries"]]
promises = []
for reference in references:
    reply = {"body": "We are on it.", "promise": {"text": "Fixed next week", "due": due}}
    promises += [p["id"] for p in call(f"/api/v1/entries/{reference}/replies", reply)["promises"]]
assert references and promises, "no entries with promises to test with"
# The image attached before the public runs, so that fetching one reaches
# the store instead of stopping at 404.
images = [a["id"] for a in call(f"/api/v1/entries/{sys.argv[5]}")["attachments"]]
assert images, "the entry with an image has none"
for path in doc["paths"].values():
    for operation in path.values():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] == "reference":
                parameter["schema"] = {"type": "string", "enum": references}
            if parameter["in"] == "path" and parameter["name"] == "promise":
                parameter["schema"] = {"type": "integer", "enum": promises}
for parameter in doc["paths"]["/api/v1/attachments/{id}"]["get"]["parameters"]:
    if parameter["name"] == "id":
        parameter["schema"] = {"type": "string", "enum": images}
json.dump(doc, open(sys.argv[4], "w"))
PY
# One worker: two made Python 3.11's parser fail inside hypothesis
# ("AST constructor recursion depth mismatch"). Wrong tokens are tried
# last, on their own: after ten from one address the collector refuses
# every token from it for a while (429), which would hide the rest.
staff() {
  WORKERS=1 run "$work/staff.json" --url "$base" --include-tag staff \
    -H "Authorization: Bearer $token" "$@"
}
echo "== schemathesis: the staff API, with a write token"
staff --exclude-checks positive_data_acceptance,ignored_auth
echo "== schemathesis: the staff API, without a token or with a wrong one"
CHECKS=ignored_auth staff
exit $status
