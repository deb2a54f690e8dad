// Headless Chromium for the end-to-end tests and the SDK benchmark: Debian's /usr/bin/chromium driven by
// playwright-core (see docs/toolchain.md), in a throwaway profile that is removed on close.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/// `args` adds Chromium flags (host mapping, say) to the defaults.
export async function launchChromium({ locale = 'en-US', viewport = { width: 720, height: 900 }, args = [] } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'paygate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...FLAGS, ...args],
    locale,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/// Where the tests leave screenshots for people to look at (git-ignored; CI keeps them as artifacts).
export const SCREENSHOT_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../artifacts/screenshots');
