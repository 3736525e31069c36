/**
 * Renders the PWA's PNG icons from their SVG sources in Chromium (`npx tsx scripts/render-icons.ts`).
 * The PNGs are committed (a few KB each), so builds need no image tool; run this after changing
 * an SVG. test/web/manifest.test.ts checks every PNG's size against the manifest.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { PNG_ICONS } from '../web/pwa-manifest';
import { CHROMIUM_FLAGS, chromiumPath } from '../tools/chromium';

const publicDir = join(import.meta.dirname, '../web/public');
const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
try {
  const page = await browser.newPage();
  for (const icon of PNG_ICONS) {
    const svg = readFileSync(join(publicDir, icon.source), 'utf8');
    await page.setViewportSize({ width: icon.size, height: icon.size });
    await page.setContent(
      `<body style="margin:0"><img style="display:block;width:${icon.size}px;height:${icon.size}px" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"></body>`,
    );
    const png = await page.screenshot({ omitBackground: true });
    writeFileSync(join(publicDir, icon.file), png);
    console.log(`${icon.file}: ${icon.size}x${icon.size}, ${png.length} bytes`);
  }
} finally {
  await browser.close();
}
