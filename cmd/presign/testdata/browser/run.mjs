// Opens a page in Debian's Chromium (headless) and prints, as one JSON line
// on stdout, the value the page stores in window.presignResult. Used by
// TestBrowser in cmd/presign; it gives up after 60 seconds.
//
// Usage: node run.mjs URL...   (env CHROMIUM: the browser, default /usr/bin/chromium)
import { chromium } from 'playwright-core';

const deadline = setTimeout(() => { console.error('run.mjs: no result within 60 s'); process.exit(2); }, 60_000);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox'],
});
try {
  const results = [];
  for (const url of process.argv.slice(2)) {
    const page = await browser.newPage();
    page.on('console', (m) => console.error(`page ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(url);
    const handle = await page.waitForFunction(() => window.presignResult, null, { timeout: 50_000 });
    results.push(await handle.jsonValue());
    await page.close();
  }
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
  clearTimeout(deadline);
}
