// Drives presign dev's demo page (/demo/) in Debian's Chromium (headless)
// for TestDemo in cmd/presign, the way a user would: types the key, picks
// and drops files, clicks Pause, Resume and a download link, reloads. It
// prints one JSON object on stdout: what the page showed at each step and
// every request it made (to presign and to the store), with its status.
// TestDemo decides; this script only runs the steps and records.
//
// Usage: node run.mjs CONFIG-JSON   (env CHROMIUM: the browser)
//   CONFIG: {page, api, store, key, files: [{name, type, path}] (picked
//   from buffers), reload: {name, path} (picked, then dropped, from the
//   file), tampered: {name, text} (its receipt altered on the way),
//   screenshot, download: {key, path}, putMaxMiB}
import { readFileSync } from 'node:fs'
import { launch, giveUpAfter, sleep, until as untilWithin } from '../browser/driver.mjs'

const cfg = JSON.parse(process.argv[2])
const deadline = giveUpAfter(50)
const until = (what, cond, ms = 15_000) => untilWithin(what, cond, ms)

const row = (name) => `#queue li.item[data-name="${name}"]`

// What a file's row shows.
async function rowState(page, name) {
  return page.$eval(row(name), (li) => {
    const text = (sel) => li.querySelector(sel)?.textContent ?? ''
    const p = li.querySelector('progress')
    const pairs = (sel) => {
      const out = {}
      const dl = li.querySelector(sel)
      if (!dl) return out
      for (const dt of dl.querySelectorAll('dt')) out[dt.textContent] = dt.nextElementSibling.textContent
      return out
    }
    return {
      state: li.dataset.state, method: li.dataset.method, key: li.dataset.key ?? '',
      value: p.value, max: p.max, pct: text('.pct'), status: text('.status'),
      error: li.querySelector('.error')?.hidden ? '' : text('.error'),
      facts: pairs('dl.facts'), claims: pairs('dl.claims'),
      signature: text('.signature'), signatureVerified: li.querySelector('.signature')?.dataset.verified === 'true',
      receipt: text('.jws'),
    }
  })
}

async function waitState(page, name, states, ms = 15_000) {
  await page.waitForSelector(states.map((s) => `${row(name)}[data-state="${s}"]`).join(', '), { timeout: ms })
  return rowState(page, name)
}

const browser = await launch()
const out = { steps: {}, requests: [], console: [] }
try {
  const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 1600 } })

  // The request log, and a gate: part PUTs to the store whose number the
  // gate admits are held, unanswered, until dropped.
  let phase = 'start'
  let gate = null
  let held = []
  const entries = new Map()
  ctx.on('request', (req) => {
    const u = new URL(req.url())
    const to = u.origin === cfg.store ? 'store' : u.origin === cfg.api ? 'presign' : 'other'
    if (to === 'presign' && u.pathname.startsWith('/demo/')) return
    const e = { to, method: req.method(), path: decodeURIComponent(u.pathname), part: Number(u.searchParams.get('partNumber')) || 0, phase }
    if (to === 'store' && u.searchParams.has('list-type')) e.list = true
    entries.set(req, e)
    out.requests.push(e)
  })
  ctx.on('response', (resp) => {
    const e = entries.get(resp.request())
    if (e) e.status = resp.status()
  })
  ctx.on('requestfailed', (req) => {
    const e = entries.get(req)
    if (e) e.failure = req.failure()?.errorText ?? 'failed'
  })
  await ctx.route((u) => u.origin === cfg.store, async (route) => {
    const req = route.request()
    const part = Number(new URL(req.url()).searchParams.get('partNumber')) || 0
    if (gate && req.method() === 'PUT' && part && gate(part)) {
      held.push(route)
      return
    }
    await route.continue().catch(() => {})
  })
  const hold = (fn) => { gate = fn }
  const drop = async () => {
    gate = null
    const routes = held
    held = []
    await Promise.all(routes.map((r) => r.abort().catch(() => {})))
  }
  const finished = (path, ph) => out.requests.filter((e) => e.to === 'store' && e.method === 'PUT' && e.part && e.status === 200 && e.path.endsWith(path) && e.phase === ph).map((e) => e.part)

  const page = await ctx.newPage()
  page.on('console', (m) => {
    out.console.push(`${m.type()}: ${m.text()}`)
    console.error(`page ${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => {
    out.console.push(`pageerror: ${e.message}`)
    console.error(`page error: ${e.message}`)
  })
  const nav = await page.goto(cfg.page)
  out.steps.open = { status: nav.status(), csp: nav.headers()['content-security-policy'] ?? '', title: await page.title() }

  // A key presign does not know: refused at sign-in, and on a file.
  await page.fill('#api-key', 'psk_dev_not_a_key')
  await page.click('#signin-button')
  await page.waitForSelector('#signin-status[data-state="error"]')
  await page.setInputFiles('#files', [{ name: 'refused.txt', mimeType: 'text/plain', buffer: Buffer.from('refused') }])
  out.steps.wrongKey = { signin: await page.textContent('#signin-status'), row: await waitState(page, 'refused.txt', ['error']) }

  // The key presign dev printed.
  await page.fill('#api-key', cfg.key)
  await page.click('#signin-button')
  await page.waitForSelector('#signin-status[data-state="signed-in"]')
  await page.waitForSelector('#files-status[data-state="done"], #files-status[data-state="error"]')
  out.steps.signIn = { status: await page.textContent('#signin-status'), files: await page.textContent('#files-status') }
  // Files over this go up in parts (the page's default is 16 MiB).
  await page.fill('#put-max', String(cfg.putMaxMiB))
  await page.press('#put-max', 'Tab')

  // Three files at once; the multipart one's parts 2 and up are held.
  const [small, medium, big] = cfg.files
  phase = 'first'
  hold((n) => n >= 2)
  await page.setInputFiles('#files', cfg.files.map((f) => ({ name: f.name, mimeType: f.type, buffer: readFileSync(f.path) })))
  await waitState(page, small.name, ['verified', 'error'])
  await waitState(page, medium.name, ['verified', 'error'])
  await until('part 1 of the multipart upload on the store and part 2 held', () => finished(big.name, 'first').includes(1) && held.length > 0)
  const mid = await rowState(page, big.name)
  await page.screenshot({ path: cfg.screenshot, fullPage: true })
  const barVisible = await page.locator(`${row(big.name)} progress`).isVisible()
  const box = await page.locator(`${row(big.name)} progress`).boundingBox()
  out.steps.midUpload = { ...mid, barVisible, box, held: held.length }

  // Pause: the parts in flight are abandoned; resume sends only what the
  // store lacks.
  await page.click(`${row(big.name)} button.pause`)
  out.steps.paused = await waitState(page, big.name, ['paused'])
  phase = 'paused'
  await drop()
  await sleep(300)
  phase = 'resumed'
  await page.click(`${row(big.name)} button.resume`)
  await waitState(page, big.name, ['verified', 'error'])

  out.steps.done = {}
  for (const f of cfg.files) out.steps.done[f.name] = await rowState(page, f.name)

  // A reload with parts 1 and 2 on the store and part 3 in flight; the
  // same file, dropped again, resumes.
  phase = 'beforeReload'
  hold((n) => n >= 3)
  await page.setInputFiles('#files', cfg.reload.path)
  await until('parts 1 and 2 of the reloaded upload on the store and part 3 held', () => {
    const done = finished(cfg.reload.name, 'beforeReload')
    return done.includes(1) && done.includes(2) && held.length > 0
  })
  out.steps.beforeReload = { row: await rowState(page, cfg.reload.name), saved: await page.evaluate(() => localStorage.getItem('presign-demo:uploads')) }
  phase = 'reloaded'
  await page.reload()
  await drop()
  await page.waitForSelector(`#unfinished li[data-name="${cfg.reload.name}"] .held:not(:empty)`)
  out.steps.unfinished = await page.textContent(`#unfinished li[data-name="${cfg.reload.name}"]`)
  await page.locator('#drop').drop({ files: cfg.reload.path })
  out.steps.reloaded = await waitState(page, cfg.reload.name, ['verified', 'error'])
  out.steps.reloaded.saved = await page.evaluate(() => localStorage.getItem('presign-demo:uploads'))
  out.steps.reloaded.unfinishedHidden = await page.locator('#unfinished').isHidden()

  // A receipt changed on its way (its claims name another key, its
  // signature kept): the page must not call it checked.
  phase = 'tampered'
  const completeURL = `${cfg.api}/v1/uploads/complete`
  await page.route(completeURL, async (route) => {
    const resp = await route.fetch()
    const body = await resp.json()
    if (body.receipt) {
      const [h, p, sig] = body.receipt.split('.')
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
      claims.key = 'someone-else.bin'
      body.receipt = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.')
    }
    await route.fulfill({ response: resp, json: body })
  })
  await page.setInputFiles('#files', [{ name: cfg.tampered.name, mimeType: 'text/plain', buffer: Buffer.from(cfg.tampered.text) }])
  out.steps.tampered = await waitState(page, cfg.tampered.name, ['verified', 'error'])
  await page.unroute(completeURL)

  // Your files, and a download by its link.
  phase = 'files'
  const keys = [...cfg.files.map((f) => f.name), cfg.reload.name]
  await page.click('#refresh-files')
  let listed = []
  await until('every file listed', async () => {
    listed = await page.$$eval('#files-body tr[data-key]', (trs) => trs.map((tr) => tr.dataset.key))
    return keys.every((k) => listed.includes(k))
  }).catch(() => {})
  out.steps.files = { listed, status: await page.textContent('#files-status') }
  if (keys.every((k) => listed.includes(k))) {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10_000 }),
      page.click(`#files-body a.download[data-key="${cfg.download.key}"]`),
    ])
    await download.saveAs(cfg.download.path)
    out.steps.download = { suggestedFilename: download.suggestedFilename(), url: download.url(), failure: await download.failure() }
  }
  await ctx.close()
} catch (err) {
  out.error = String(err?.stack ?? err)
} finally {
  await browser.close()
  clearTimeout(deadline)
}
console.log(JSON.stringify(out))
