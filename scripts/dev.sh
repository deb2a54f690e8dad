#!/usr/bin/env bash
# `make dev`: installs what is missing, then runs the whole stack on this machine: a project-local
# PostgreSQL (DATABASE_URL overrides it), migrations, the sandbox acquirer, the ledger backend and
# the edge under `wrangler dev`. Prints the URLs once everything answers its health check. Ctrl-C stops every process
# this script started (each runs in a process group of its own) and the cluster, if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/lib.sh
. scripts/pg.sh

./scripts/install.sh
tool_env

BACKEND_ADDR=${PAYGATE_BACKEND_ADDR:-127.0.0.1:8081}
EDGE_PORT=${PAYGATE_EDGE_PORT:-8787}
LOG_DIR=$ROOT/.local/logs
mkdir -p "$LOG_DIR"

groups=()
started_pg=""
cleanup() {
  # Ignored, not reset: a second Ctrl-C (or a signal sent to the whole group twice) must not cut the cleanup
  # short and leave services running.
  trap - EXIT
  trap '' INT TERM
  step "stopping"
  for pgid in "${groups[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  # Give each group a moment to finish gracefully, then make sure nothing is left.
  for _ in $(seq 1 50); do
    alive=0
    for pgid in "${groups[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.2
  done
  for pgid in "${groups[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
  [ -n "$started_pg" ] && pg_stop "$started_pg"
  echo "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_service <name> <health url> <wait seconds> <dir> <command...>: starts a command in its own
# process group with its output in .local/logs/<name>.log, and waits until <health url> answers 200.
start_service() {
  local name=$1 health=$2 wait_s=$3 dir=$4
  shift 4
  (cd "$dir" && exec setsid "$@") >"$LOG_DIR/$name.log" 2>&1 &
  local pid=$!
  groups+=("$pid")
  local deadline=$(( $(date +%s) + wait_s ))
  until curl -fsS -o /dev/null --max-time 2 "$health" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited during start-up; the end of $LOG_DIR/$name.log:" >&2
      tail -n 30 "$LOG_DIR/$name.log" >&2
      exit 1
    fi
    if [ "$(date +%s)" -ge $deadline ]; then
      echo "$name did not answer $health within ${wait_s}s; see $LOG_DIR/$name.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "$name is up ($health)"
}

if [ -z "${DATABASE_URL:-}" ]; then
  step "PostgreSQL (project-local cluster)"
  DATABASE_URL=$(pg_ensure pg-dev 54329)
  started_pg=pg-dev
fi
export DATABASE_URL

# Local secrets, created on first use and kept out of git (.local/ is ignored). Production sets these
# through its secret store; see ARCHITECTURE.md.
SECRETS=$ROOT/.local/dev-secrets.env
random_hex() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
for name in PAYGATE_EDGE_SECRET PAYGATE_API_KEY_PEPPER VAULT_FINGERPRINT_KEY; do
  grep -qs "^$name=" "$SECRETS" || (umask 077 && printf '%s=%s\n' "$name" "$(random_hex)" >> "$SECRETS")
done
# The vault's data keys are versioned ("1:<hex>"; add "2:<hex>" to rotate).
grep -qs "^VAULT_DATA_KEYS=" "$SECRETS" || (umask 077 && printf 'VAULT_DATA_KEYS=1:%s\n' "$(random_hex)" >> "$SECRETS")
# The backend's keys for secrets at rest (webhook signing secrets), versioned the same way.
grep -qs "^PAYGATE_SECRETS_KEYS=" "$SECRETS" || (umask 077 && printf 'PAYGATE_SECRETS_KEYS=1:%s\n' "$(random_hex)" >> "$SECRETS")
# Apple Pay's payment-processing key (P-256, PKCS#8) and its public half, for tokens the local stand-in of Apple
# mints (`paygate-fake-apple`); production's comes from the Payment Processing certificate Apple issues.
if ! grep -qs "^APPLE_PAY_PROCESSING_KEYS=" "$SECRETS"; then
  pair=$(node -e "const c = require('crypto'); const k = c.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    console.log(k.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
      k.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'))")
  (umask 077 && printf 'APPLE_PAY_PROCESSING_KEYS=1:%s\nAPPLE_PAY_PROCESSING_PUBLIC=%s\n' ${pair} >> "$SECRETS")
fi
set -a
. "$SECRETS"
set +a
# wrangler dev reads the edge's secrets from .dev.vars (git-ignored), never from wrangler.toml.
(umask 077 && grep -E '^(PAYGATE_EDGE_SECRET|PAYGATE_API_KEY_PEPPER|VAULT_DATA_KEYS|VAULT_FINGERPRINT_KEY|APPLE_PAY_PROCESSING_KEYS)=' \
  "$SECRETS" > "$ROOT/edge-api/.dev.vars")

SANDBOX_ADDR=${PAYGATE_SANDBOX_ADDR:-127.0.0.1:8082}
STRIPE_ADDR=${PAYGATE_STRIPE_FAKE_ADDR:-127.0.0.1:8083}
CHECKOUT_ADDR=${PAYGATE_CHECKOUT_FAKE_ADDR:-127.0.0.1:8084}
APPLE_ADDR=${PAYGATE_APPLE_FAKE_ADDR:-127.0.0.1:8085}
# The fake Stripe's one account (a test key of the fake's, not a Stripe secret): give a merchant a Stripe
# processor account with it to route payments through the Stripe connector locally.
grep -qs "^STRIPE_FAKE_KEY=" "$SECRETS" || (umask 077 && printf 'STRIPE_FAKE_KEY=sk_test_local%s\n' "$(random_hex | cut -c1-24)" >> "$SECRETS")
STRIPE_FAKE_KEY=$(grep '^STRIPE_FAKE_KEY=' "$SECRETS" | cut -d= -f2)
grep -qs "^CHECKOUT_FAKE_KEY=" "$SECRETS" || (umask 077 && printf 'CHECKOUT_FAKE_KEY=sk_sbox_local%s\n' "$(random_hex | cut -c1-24)" >> "$SECRETS")
CHECKOUT_FAKE_KEY=$(grep '^CHECKOUT_FAKE_KEY=' "$SECRETS" | cut -d= -f2)

step "ledger backend, sandbox acquirer, fake Stripe, fake Checkout.com and fake Apple"
cargo build -q -p paygate-ledger -p paygate-fakes
SANDBOX_LISTEN_ADDR=$SANDBOX_ADDR start_service sandbox "http://$SANDBOX_ADDR/health" 30 "$ROOT" \
  "$CARGO_TARGET_DIR/debug/paygate-sandbox-acquirer"
STRIPE_FAKE_LISTEN_ADDR=$STRIPE_ADDR STRIPE_FAKE_ACCOUNTS=$STRIPE_FAKE_KEY start_service stripe-fake \
  "http://$STRIPE_ADDR/health" 30 "$ROOT" "$CARGO_TARGET_DIR/debug/paygate-fake-stripe"
CHECKOUT_FAKE_LISTEN_ADDR=$CHECKOUT_ADDR CHECKOUT_FAKE_ACCOUNTS=$CHECKOUT_FAKE_KEY start_service checkout-fake \
  "http://$CHECKOUT_ADDR/health" 30 "$ROOT" "$CARGO_TARGET_DIR/debug/paygate-fake-checkout"
APPLE_FAKE_LISTEN_ADDR=$APPLE_ADDR start_service apple-fake "http://$APPLE_ADDR/health" 30 "$ROOT" \
  "$CARGO_TARGET_DIR/debug/paygate-fake-apple"
# The stand-in's test root, on one line (the edge reads PEM with its line breaks or without), honoured in test
# mode only.
APPLE_TEST_ROOT=$(curl -fsS "http://$APPLE_ADDR/_fake/root.pem" | tr -d '\n')
"$CARGO_TARGET_DIR/debug/paygate-ledger" migrate
# A demo merchant with test keys, made once and kept in .local/dev-keys.env (a key is shown only once).
KEYS=$ROOT/.local/dev-keys.env
# Keys of a database that is gone (the cluster was reset, DATABASE_URL points elsewhere) would make every
# request a 401: keep them only while their merchant exists.
if grep -qs '^PAYGATE_MERCHANT=' "$KEYS"; then
  known=$(grep '^PAYGATE_MERCHANT=' "$KEYS" | cut -d= -f2)
  [[ $known =~ ^acct_[0-9a-z]{26}$ ]] || known=none
  if [ "$(psql -qAtX "$DATABASE_URL" -c "SELECT count(*) FROM merchants WHERE id = '$known'" 2>/dev/null)" != 1 ]; then
    echo "the demo merchant in $KEYS is not in this database: creating a new one"
    rm -f "$KEYS"
  fi
fi
if ! grep -qs '^PAYGATE_SK_TEST=' "$KEYS"; then
  merchant=$("$CARGO_TARGET_DIR/debug/paygate-ledger" create-merchant --name "Demo shop")
  pk=$("$CARGO_TARGET_DIR/debug/paygate-ledger" create-key --merchant "$merchant" --mode test --kind publishable)
  sk=$("$CARGO_TARGET_DIR/debug/paygate-ledger" create-key --merchant "$merchant" --mode test --kind secret)
  (umask 077 && printf 'PAYGATE_MERCHANT=%s\nPAYGATE_PK_TEST=%s\nPAYGATE_SK_TEST=%s\n' "$merchant" "$pk" "$sk" > "$KEYS")
fi
. "$KEYS"
# The dashboard's demo sign-in: the demo merchant's owner, with a password made here and kept with the keys.
if [ -z "${PAYGATE_DEMO_PASSWORD:-}" ]; then
  PAYGATE_DEMO_EMAIL="demo-$(random_hex | cut -c1-8)@paygate.test"
  PAYGATE_DEMO_PASSWORD="demo-$(random_hex | cut -c1-16)"
  DEMO_PASSWORD=$PAYGATE_DEMO_PASSWORD "$CARGO_TARGET_DIR/debug/paygate-ledger" create-user \
    --merchant "$PAYGATE_MERCHANT" --email "$PAYGATE_DEMO_EMAIL" --password-env DEMO_PASSWORD >/dev/null
  (umask 077 && printf 'PAYGATE_DEMO_EMAIL=%s\nPAYGATE_DEMO_PASSWORD=%s\n' "$PAYGATE_DEMO_EMAIL" "$PAYGATE_DEMO_PASSWORD" >> "$KEYS")
fi
PAYGATE_LISTEN_ADDR=$BACKEND_ADDR PAYGATE_SANDBOX_URL=http://$SANDBOX_ADDR PAYGATE_STRIPE_URL=http://$STRIPE_ADDR \
  PAYGATE_CHECKOUT_TEST_URL=http://$CHECKOUT_ADDR \
  PAYGATE_EDGE_URL=http://127.0.0.1:$EDGE_PORT start_service backend "http://$BACKEND_ADDR/ready" 30 "$ROOT" \
  "$CARGO_TARGET_DIR/debug/paygate-ledger" serve

# The background jobs: audit sealing, authorization expiry, recovery, maintenance. It has no port;
# its health is the process staying up (wait -n below notices if it dies).
(cd "$ROOT" && PAYGATE_SANDBOX_URL=http://$SANDBOX_ADDR PAYGATE_STRIPE_URL=http://$STRIPE_ADDR \
  PAYGATE_CHECKOUT_TEST_URL=http://$CHECKOUT_ADDR exec setsid "$CARGO_TARGET_DIR/debug/paygate-ledger" work) \
  >"$LOG_DIR/worker.log" 2>&1 &
groups+=("$!")
echo "worker started (log: $LOG_DIR/worker.log)"

step "browser SDK (card and Apple Pay elements, npm package, demo shop install)"
./scripts/build_browser.sh

step "edge (wrangler dev on workerd)"
# wrangler runs the [build] command of wrangler.toml (worker-build) before serving.
start_service edge "http://127.0.0.1:$EDGE_PORT/health" 300 "$ROOT/edge-api" \
  wrangler dev --local --ip 127.0.0.1 --port "$EDGE_PORT" --var "BACKEND_URL:http://$BACKEND_ADDR" \
  --var "SANDBOX_URL:http://$SANDBOX_ADDR" --var "PROCESSOR_TEST_HOSTS:stripe=http://$STRIPE_ADDR,checkout=http://$CHECKOUT_ADDR" \
  --var "APPLE_PAY_MERCHANT_ID:merchant.dev.paygate" --var "APPLE_PAY_TEST_VALIDATION_HOSTS:$APPLE_ADDR" \
  --var "APPLE_PAY_TEST_ROOT_CA:$APPLE_TEST_ROOT" \
  --show-interactive-dev-session=false

step "demo shop (checkout page and webhook receiver)"
SHOP_PORT=${PAYGATE_SHOP_PORT:-4242}
if ! grep -qs '^PAYGATE_WEBHOOK_SECRET=' "$KEYS"; then
  # One webhook endpoint for the demo shop, created once; its signing secret is kept with the keys.
  secret=$(curl -fsS "http://127.0.0.1:$EDGE_PORT/v1/webhook_endpoints" -H "authorization: Bearer $PAYGATE_SK_TEST" \
    -H 'content-type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$SHOP_PORT/webhooks\",\"enabled_events\":[\"*\"]}" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).secret))')
  (umask 077 && printf 'PAYGATE_WEBHOOK_SECRET=%s\n' "$secret" >> "$KEYS")
  . "$KEYS"
fi
PORT=$SHOP_PORT PAYGATE_EDGE_URL=http://127.0.0.1:$EDGE_PORT PAYGATE_SECRET_KEY=$PAYGATE_SK_TEST \
  PAYGATE_PUBLISHABLE_KEY=$PAYGATE_PK_TEST PAYGATE_WEBHOOK_SECRET=$PAYGATE_WEBHOOK_SECRET \
  start_service shop "http://127.0.0.1:$SHOP_PORT/api/config" 30 "$ROOT" node examples/shop/server.mjs

# What the documentation's snippets use (docs/site): the edge's address and the fake processors' keys, beside
# the demo keys, so `. .local/dev-keys.env` is all a reader sources.
(umask 077 && grep -vE '^(PAYGATE_API|STRIPE_FAKE_KEY|CHECKOUT_FAKE_KEY)=' "$KEYS" > "$KEYS.new" &&
  printf 'PAYGATE_API=http://127.0.0.1:%s\nSTRIPE_FAKE_KEY=%s\nCHECKOUT_FAKE_KEY=%s\n' \
    "$EDGE_PORT" "$STRIPE_FAKE_KEY" "$CHECKOUT_FAKE_KEY" >> "$KEYS.new" && mv "$KEYS.new" "$KEYS")

step "documentation site (docs/site, built with mdBook)"
DOCS_ADDR=${PAYGATE_DOCS_ADDR:-127.0.0.1:8088}
./scripts/build_docs.sh
start_service docs "http://$DOCS_ADDR/index.html" 30 "$ROOT" \
  python3 -m http.server --bind "${DOCS_ADDR%:*}" "${DOCS_ADDR##*:}" --directory "$CARGO_TARGET_DIR/docs-site"

step "running"
cat <<TXT
  demo shop       http://127.0.0.1:$SHOP_PORT          (open it: the checkout page with the card form; its Apple Pay
                  button shows only in Safari with Apple Pay, on a domain registered with POST /v1/apple_pay/domains)
  dashboard       http://127.0.0.1:$EDGE_PORT/dashboard/   (sign in as $PAYGATE_DEMO_EMAIL, password
                  $PAYGATE_DEMO_PASSWORD; or create an account at /dashboard/sign-up)
  edge API        http://127.0.0.1:$EDGE_PORT          (public entry point; try /health, /ready, /v1/openapi.json)
  docs            http://$DOCS_ADDR     (guides and the API reference; start with the quickstart)
  ledger backend  http://$BACKEND_ADDR     (internal, edge-signed requests only; /health, /ready)
  sandbox         http://$SANDBOX_ADDR     (the test-mode card network)
  fake Stripe     http://$STRIPE_ADDR     (account key $STRIPE_FAKE_KEY: route to it with
                  POST /v1/processor_accounts and PUT /v1/routing, see README "Processors and routing")
  fake Checkout   http://$CHECKOUT_ADDR     (account key $CHECKOUT_FAKE_KEY, any pc_… processing channel)
  fake Apple      http://$APPLE_ADDR     (merchant validation; mints Apple Pay tokens for this edge's processing key:
                  POST /_fake/tokens {"processing_public_key": "$APPLE_PAY_PROCESSING_PUBLIC",
                  "merchant_identifier": "merchant.dev.paygate", "amount": 1000, "currency_numeric": "840"})
  worker          paygate-ledger work        (audit sealing, expiry, recovery, maintenance)
  PostgreSQL      $DATABASE_URL
  logs            $LOG_DIR/

  demo merchant   $PAYGATE_MERCHANT (keys in .local/dev-keys.env)
  publishable key $PAYGATE_PK_TEST
  secret key      $PAYGATE_SK_TEST

Ctrl-C stops everything.
TXT
# Wait until a service dies or Ctrl-C; either way the EXIT trap stops the rest.
wait -n
echo "a service stopped unexpectedly; see $LOG_DIR/" >&2
exit 1
