// What the demo shop's browser tests share (not a test file itself): the whole stack (edge on workerd, backend,
// worker, PostgreSQL, the fakes), the demo shop in front of it with a webhook endpoint whose signed events it
// verifies, and headless Chromium. `stop()` ends all of it.
import fs from 'node:fs';
import { startStack, call } from '../../../edge-api/tests/helpers.mjs';
import { createShop } from '../server.mjs';
import { launchChromium, SCREENSHOT_DIR } from './chromium.mjs';

/// `stack`: startStack's options (vars); `shop`: createShop's extra options; `chromium`: launchChromium's options,
/// or a function of the shop's local URL that returns them (for flags naming it).
export async function startShopStack({ stack: stackOptions = {}, shop: shopOptions = {}, chromium = {} } = {}) {
  const parts = {};
  parts.stop = async () => {
    await parts.browser?.close();
    await parts.shop?.close();
    await parts.stack?.stop();
  };
  try {
    parts.stack = await startStack({ worker: true, ...stackOptions });
    const { edge, keys } = parts.stack;
    parts.shop = createShop({ edgeUrl: edge.url, secretKey: keys.skTest, publishableKey: keys.pkTest, ...shopOptions });
    parts.shopUrl = await parts.shop.listen();
    const endpoint = await call(edge, keys.skTest, 'POST', '/v1/webhook_endpoints', { url: `${parts.shopUrl}/webhooks`, enabled_events: ['*'] });
    if (endpoint.status !== 201) throw new Error(endpoint.text);
    parts.shop.webhookSecrets = [endpoint.json.secret];
    parts.browser = await launchChromium(typeof chromium === 'function' ? chromium(parts.shopUrl) : chromium);
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    return parts;
  } catch (error) {
    await parts.stop();
    throw error;
  }
}
