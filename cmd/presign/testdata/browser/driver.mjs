// What the page tests' drivers share: Debian's Chromium through the pinned
// playwright-core of this folder, a deadline for the whole run, and
// polling for a condition.

import { chromium } from 'playwright-core'

// launch starts the browser, headless (env CHROMIUM: the browser,
// default /usr/bin/chromium).
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox'],
  })
}

// giveUpAfter ends the process (status 2) unless the timer it returns is
// cleared within seconds.
export function giveUpAfter(seconds) {
  return setTimeout(() => { console.error(`run.mjs: no result within ${seconds} s`); process.exit(2) }, seconds * 1000)
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// until polls cond every 20 ms until it holds, or throws after ms.
export async function until(what, cond, ms) {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}
