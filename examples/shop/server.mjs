// The demo shop's server: it holds the secret key, creates charges through the Paygate edge with an
// Idempotency-Key, and receives Paygate's webhooks, verifying each with the Standard Webhooks library
// before believing it. The checkout page that mounts @paygate/js comes with the SDK.
//
//   PAYGATE_EDGE_URL=http://127.0.0.1:8787 PAYGATE_SECRET_KEY=sk_test_… PAYGATE_WEBHOOK_SECRET=whsec_… \
//     node examples/shop/server.mjs            # listens on PORT (default 4242)
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const BODY_BYTES_MAX = 256 * 1024;

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

/// A shop server. `webhookSecrets` may hold more than one secret while the shop rotates to a new one.
export function createShop({ edgeUrl, secretKey, webhookSecrets = [] }) {
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
    const { token, amount, currency, order } = JSON.parse(await readBody(req));
    const answer = await fetch(`${edgeUrl}/v1/charges`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${secretKey}`,
        'content-type': 'application/json',
        // One order, one charge: a retry of this request (or of the shop's own call) cannot charge twice.
        'idempotency-key': `order-${order}`,
      },
      body: JSON.stringify({ amount, currency, source: token, metadata: { order: String(order) } }),
    });
    json(res, answer.status, await answer.json());
  }

  shop.server = http.createServer(async (req, res) => {
    try {
      if (req.method === 'POST' && req.url === '/webhooks') return await receiveWebhook(req, res);
      if (req.method === 'POST' && req.url === '/api/checkout') return await checkout(req, res);
      if (req.method === 'GET' && req.url === '/api/events') return json(res, 200, [...shop.events.values()]);
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
  });
  const url = await shop.listen(Number(process.env.PORT ?? 4242));
  console.log(`demo shop server on ${url} (webhooks at ${url}/webhooks)`);
}
