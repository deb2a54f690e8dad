// The demo shop's server: it serves the checkout page (public/, with @paygate/js from the installed
// tarball under /vendor), holds the secret key, creates charges through the Paygate edge with an
// Idempotency-Key, and receives Paygate's webhooks, verifying each with the Standard Webhooks library
// before believing it.
//
//   PAYGATE_EDGE_URL=http://127.0.0.1:8787 PAYGATE_SECRET_KEY=sk_test_… PAYGATE_PUBLISHABLE_KEY=pk_test_… \
//   PAYGATE_WEBHOOK_SECRET=whsec_… node examples/shop/server.mjs      # listens on PORT (default 4242)
//
// PAYGATE_API_BASE is where browsers reach the edge (the card iframe), when that differs from
// PAYGATE_EDGE_URL, where this server reaches it.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';

const BODY_BYTES_MAX = 256 * 1024;
/// The demo's one cart: what the page shows and what the server charges.
export const CART = { amount: 2400, currency: 'EUR' };
// A charge waits for the processor's authorization; the edge and the backend give up well before this.
// A timed-out request may still have charged, which is why a retry reuses the attempt's Idempotency-Key.
const EDGE_TIMEOUT_MS = 30_000;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PUBLIC_DIR = path.join(HERE, 'public');
// @paygate/js as a shop installs it: from the packed tarball (scripts/build_browser.sh), not the source.
const VENDOR_DIR = path.join(HERE, 'node_modules', '@paygate', 'js');
const VENDOR_PREFIX = '/vendor/@paygate/js/';
const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
};

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_BYTES_MAX) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const json = (res, status, value) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
};

/// The page's Content-Security-Policy: the one @paygate/js's README recommends for a self-hosted loader,
/// with frame-src the edge's origin, plus the hashes of the page's inline blocks (its import map and its
/// style), so nothing inline runs unless it is exactly what we wrote.
function pagePolicy(apiOrigin, html) {
  const hashes = (tag) =>
    [...html.matchAll(new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)</${tag}>`, 'g'))]
      .filter(([, body]) => body.trim())
      .map(([, body]) => ` 'sha256-${createHash('sha256').update(body).digest('base64')}'`)
      .join('');
  return [
    "default-src 'self'",
    `script-src 'self'${hashes('script')}`,
    `style-src 'self'${hashes('style')}`,
    `frame-src ${apiOrigin}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

function send(res, file, body, headers = {}) {
  const type = CONTENT_TYPES[path.extname(file)];
  res.writeHead(200, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache', ...headers });
  res.end(body);
}

/// A file of a type we serve, or a 404 (missing, a directory, or a type we do not serve).
async function sendFile(res, file) {
  let body;
  try {
    body = CONTENT_TYPES[path.extname(file)] && (await readFile(file));
  } catch {}
  if (!body) return json(res, 404, { error: 'not found' });
  send(res, file, body);
}

/// `/vendor/@paygate/js/<path>` from the installed package, and nothing outside it: the path is decoded
/// and resolved first, so `..` in any spelling cannot climb out.
function vendorFile(pathname) {
  let relative;
  try {
    relative = decodeURIComponent(pathname.slice(VENDOR_PREFIX.length));
  } catch {
    return null;
  }
  const file = path.resolve(VENDOR_DIR, relative);
  return file.startsWith(VENDOR_DIR + path.sep) && !relative.includes('\0') ? file : null;
}

/// A shop server. `webhookSecrets` may hold more than one secret while the shop rotates to a new one.
/// `publishableKey` and `apiBase` (where browsers reach the edge; `edgeUrl` unless given) go to the page.
/// `country` is the shop's own (ISO 3166-1 alpha-2), for Apple Pay: `SA` also offers mada cards.
export function createShop({ edgeUrl, secretKey, webhookSecrets = [], publishableKey, apiBase = edgeUrl, country = 'DE' }) {
  const shop = {
    webhookSecrets: [...webhookSecrets],
    /// Verified events by id: a retried delivery (same webhook-id) is stored once.
    events: new Map(),
    rejected: 0,
  };

  async function receiveWebhook(req, res) {
    const body = await readBody(req);
    const headers = {
      'webhook-id': req.headers['webhook-id'] ?? '',
      'webhook-timestamp': req.headers['webhook-timestamp'] ?? '',
      'webhook-signature': req.headers['webhook-signature'] ?? '',
    };
    const event = shop.webhookSecrets
      .map((secret) => {
        try {
          return new Webhook(secret).verify(body, headers);
        } catch {
          return null;
        }
      })
      .find(Boolean);
    if (!event) {
      shop.rejected += 1;
      return json(res, 400, { error: 'signature did not verify' });
    }
    if (!shop.events.has(headers['webhook-id'])) shop.events.set(headers['webhook-id'], event);
    // This is where a shop marks the order paid (charge.captured), refunded, and so on.
    res.writeHead(204).end();
  }

  async function checkout(req, res) {
    // The price is the server's, never the browser's: a shopper can send any amount they like.
    const { amount, currency } = CART;
    const { token, order, attempt = 1 } = JSON.parse(await readBody(req));
    if (!Number.isSafeInteger(attempt) || attempt < 1) {
      return json(res, 400, { code: 'parameter_invalid', message: 'attempt must be a positive integer' });
    }
    // The order id names the Idempotency-Key; a guessable one would let a shopper replay another's answer.
    // (A real shop creates orders on its server; the demo's page mints a 64-bit random id.)
    if (!/^[0-9a-zA-Z-]{4,64}$/.test(String(order))) {
      return json(res, 400, { code: 'parameter_invalid', message: 'order must be 4 to 64 letters, digits or dashes' });
    }
    let answer;
    try {
      answer = await fetch(`${edgeUrl}/v1/charges`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${secretKey}`,
          'content-type': 'application/json',
          // One key per attempt at an order: a retry of an attempt whose answer was lost replays it and
          // cannot charge twice. The page starts a new attempt (another card, say) only after a definite
          // failure, when nothing was charged; reusing the key then would be refused (422).
          'idempotency-key': attempt === 1 ? `order-${order}` : `order-${order}-${attempt}`,
        },
        // Charges capture by default (capture: true), so a paid order sees charge.captured.
        body: JSON.stringify({ amount, currency, source: token, metadata: { order: String(order) } }),
        signal: AbortSignal.timeout(EDGE_TIMEOUT_MS),
      });
    } catch (error) {
      // The cause (an address, a timeout) is for our log, not for the shopper.
      console.warn(`charge for order ${order}: edge unreachable: ${error.cause?.message ?? error.message}`);
      const message = 'The payment service could not be reached. Please try again; you will not be charged twice.';
      return json(res, 502, { code: 'network_error', message });
    }
    // The edge's answer goes to the page unchanged, status and all: a charge or a problem.
    const body = await answer.text();
    try {
      json(res, answer.status, JSON.parse(body));
    } catch {
      json(res, 502, { code: 'upstream_error', message: `The payment service answered ${answer.status} without JSON` });
    }
  }

  /// The charge's status and failure (GET reads it; POST voids it, which ends a waiting authentication).
  async function chargeOutcome(res, id, method) {
    let answer;
    try {
      answer = await fetch(`${edgeUrl}/v1/charges/${id}${method === 'POST' ? '/void' : ''}`, {
        method,
        headers: { authorization: `Bearer ${secretKey}` },
        signal: AbortSignal.timeout(EDGE_TIMEOUT_MS),
      });
    } catch {
      return json(res, 502, { code: 'network_error', message: 'The payment service could not be reached.' });
    }
    const charge = await answer.json();
    const { status, failure_code = null, failure_message = null } = charge;
    json(res, answer.status, typeof status === 'string' ? { id, status, failure_code, failure_message } : charge);
  }

  async function page(res, pathname) {
    if (pathname === '/') {
      const file = path.join(PUBLIC_DIR, 'index.html');
      const html = await readFile(file, 'utf8');
      return send(res, file, html, { 'content-security-policy': pagePolicy(new URL(apiBase).origin, html) });
    }
    if (pathname === '/checkout.mjs') return sendFile(res, path.join(PUBLIC_DIR, 'checkout.mjs'));
    // Browsers ask for it on every page; the demo has none, and a 404 would be console noise.
    if (pathname === '/favicon.ico') return res.writeHead(204).end();
    // The shop reads a charge it made (after the shopper's 3-D Secure), with its secret key, from the edge, and
    // tells the page only how it ended. (A real shop looks up the charge of the shopper's own order, on its server;
    // the demo takes the id the page got from its own checkout.)
    const read = /^\/api\/charges\/(ch_[0-9a-z]{26})$/.exec(pathname);
    if (read) return chargeOutcome(res, read[1], 'GET');
    if (pathname === '/api/config') {
      if (!publishableKey) return json(res, 503, { code: 'not_configured', message: 'Set PAYGATE_PUBLISHABLE_KEY for the shop server' });
      return json(res, 200, { publishableKey, apiBase, country });
    }
    const file = pathname.startsWith(VENDOR_PREFIX) && vendorFile(pathname);
    if (file) return sendFile(res, file);
    json(res, 404, { error: 'not found' });
  }

  shop.server = http.createServer(async (req, res) => {
    try {
      const { pathname } = new URL(req.url, 'http://shop.invalid');
      if (req.method === 'POST' && pathname === '/webhooks') return await receiveWebhook(req, res);
      if (req.method === 'POST' && pathname === '/api/checkout') return await checkout(req, res);
      // The shopper closed the 3-D Secure dialog: give the charge up now (the edge's void), unless they had approved.
      const cancel = /^\/api\/charges\/(ch_[0-9a-z]{26})\/cancel$/.exec(pathname);
      if (req.method === 'POST' && cancel) return await chargeOutcome(res, cancel[1], 'POST');
      if (req.method === 'GET' && pathname === '/api/events') return json(res, 200, [...shop.events.values()]);
      if (req.method === 'GET') return await page(res, pathname);
      json(res, 404, { error: 'not found' });
    } catch (error) {
      json(res, 400, { error: String(error.message ?? error) });
    }
  });
  shop.listen = (port = 0) => new Promise((resolve) => shop.server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${shop.server.address().port}`)));
  shop.close = () => {
    // Keep-alive connections (the webhook sender's pool) would hold close() open; end them.
    const closed = new Promise((resolve) => shop.server.close(resolve));
    shop.server.closeAllConnections();
    return closed;
  };
  return shop;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const shop = createShop({
    edgeUrl: process.env.PAYGATE_EDGE_URL ?? 'http://127.0.0.1:8787',
    secretKey: process.env.PAYGATE_SECRET_KEY,
    webhookSecrets: (process.env.PAYGATE_WEBHOOK_SECRET ?? '').split(',').filter(Boolean),
    publishableKey: process.env.PAYGATE_PUBLISHABLE_KEY,
    apiBase: process.env.PAYGATE_API_BASE || undefined,
    country: process.env.SHOP_COUNTRY || undefined,
  });
  const url = await shop.listen(Number(process.env.PORT ?? 4242));
  console.log(`demo shop on ${url} (checkout page at ${url}/, webhooks at ${url}/webhooks)`);
}
