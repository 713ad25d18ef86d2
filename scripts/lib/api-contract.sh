#!/usr/bin/env bash
# Checks the gateway's /v1 API against its OpenAPI document with schemathesis: no 5xx, and every
# status code, content type, header and body as the document says.
#   scripts/lib/api-contract.sh PG_PORT
# Starts `afx serve` (the debug build) over TLS against a fresh database on the given
# PostgreSQL, signs up an Elite admin to authenticate as, runs schemathesis, stops everything.
# schemathesis is installed from PyPI into .data/venv (git-ignored) on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
pg_port=$1
schemathesis_version=4.32.5

venv="$root/.data/venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "==> installing schemathesis $schemathesis_version into .data/venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

work=$(mktemp -d "$root/.data/contract.XXXXXX")
database="afx_contract_$$"
server=""
cleanup() {
  [ -n "$server" ] && { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  psql -h 127.0.0.1 -p "$pg_port" -U afx -d postgres -qc "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

scripts/gen-certs "$work/certs" >/dev/null
psql -h 127.0.0.1 -p "$pg_port" -U afx -d postgres -qc "CREATE DATABASE $database"
export DATABASE_URL="postgres://afx@127.0.0.1:$pg_port/$database?sslmode=disable"
export AFX_ENVIRONMENT=development AFX_LOG_LEVEL=warning
export AFX_ENCRYPTION_KEY="$(openssl rand -base64 32)" AFX_JWT_SECRET="$(openssl rand -base64 48 | tr -d '\n')"
export AFX_SERVER_HOST=127.0.0.1
export AFX_SERVER_CERTIFICATE="$work/certs/server.crt" AFX_SERVER_PRIVATE_KEY="$work/certs/server.key"
export AFX_AUTH_BCRYPT_COST=4 AFX_DISCORD_GATEWAY_ENABLED=false

afx="$(swift build --show-bin-path)/afx"
"$afx" migrate >/dev/null
# Port 0, read back from the "listening" line: a free port picked beforehand could be taken by
# another connection before the server binds it.
AFX_LOG_LEVEL=info "$afx" serve --port 0 >"$work/serve.log" 2>&1 &
server=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*url=https://[^ ]*:\([0-9][0-9]*\) .*listening.*|\1|p' "$work/serve.log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { echo "afx serve stopped:"; cat "$work/serve.log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "afx serve did not report its port:"; tail -50 "$work/serve.log"; exit 1; }
base="https://localhost:$port"
for _ in $(seq 1 100); do
  curl -sf --cacert "$work/certs/ca.crt" "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

token=$(curl -sf --cacert "$work/certs/ca.crt" -H 'Content-Type: application/json' \
  -d '{"email":"contract@example.test","password":"contract-password"}' "$base/v1/auth/register" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
psql -h 127.0.0.1 -p "$pg_port" -U afx -d "$database" -qc \
  "UPDATE users SET plan = 'elite', role = 'admin' WHERE email = 'contract@example.test'"

echo "==> schemathesis against $base/v1/openapi.yaml"
# One worker: with threads, CPython 3.11's ast.parse (used by hypothesis to describe strategies)
# can fail with "AST constructor recursion depth mismatch", an error of the tool, not the API.
status=0
"$venv/bin/schemathesis" run "$base/v1/openapi.yaml" --url "$base" --tls-verify "$work/certs/ca.crt" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "${AFX_CONTRACT_EXAMPLES:-30}" --seed 1 --workers 1 --warnings off || status=$?
if [ "$status" -ne 0 ]; then
  echo "==> the server log:"; tail -50 "$work/serve.log"
fi
exit $status
