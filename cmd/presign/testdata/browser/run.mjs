// Opens a page in Debian's Chromium (headless) and prints, as one JSON line
// on stdout, the value the page stores in window.presignResult. Used by
// TestBrowser in cmd/presign; it gives up after 60 seconds.
//
// Usage: node run.mjs URL...   (env CHROMIUM: the browser, default /usr/bin/chromium)
import { launch, giveUpAfter } from './driver.mjs';

const deadline = giveUpAfter(60);
const browser = await launch();
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
