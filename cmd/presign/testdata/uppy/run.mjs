// Drives the real @uppy/aws-s3 (6.x and 5.x bundles) in Debian's Chromium
// (headless) against presign's Companion routes, for TestUppy in
// cmd/presign, and prints one JSON object on stdout: per line and scenario,
// what the page reported (file IDs, SHA-256, Uppy's outcome) and every
// request the page made (to presign and to the store), with its status.
// TestUppy decides; this script only runs the scenarios and records.
//
// Usage: node run.mjs CONFIG-JSON   (env CHROMIUM: the browser)
//   CONFIG: {page, api, store, lines: [{line, init}], sizes: {name: bytes}}
//   page: the page's origin (it serves /v6/ and /v5/); api: presign's;
//   store: the store's; init: harness.init's config (but id and
//   goldenRetriever, which the scenarios set).
import { launch, giveUpAfter, sleep, until as untilWithin } from '../browser/driver.mjs'

const cfg = JSON.parse(process.argv[2])
const deadline = giveUpAfter(120)
const until = (what, cond, ms = 20_000) => untilWithin(what, cond, ms)

// One browser context per scenario (its own IndexedDB and localStorage),
// with a request log and a gate: part PUTs to the store whose number the
// gate admits are held, unanswered, until dropped (or the page goes away).
async function scenarioContext(browser) {
  const ctx = await browser.newContext()
  const log = []
  let phase = 'start'
  let gate = null
  let held = []
  const entries = new Map()
  const describe = (req) => {
    const u = new URL(req.url())
    const origin = u.origin
    let to = 'other'
    if (origin === cfg.store) to = 'store'
    else if (origin === cfg.api) to = 'presign'
    else if (origin === cfg.page) to = 'page'
    // The path token is a credential: only its place is kept.
    const path = decodeURIComponent(u.pathname).replace(/\/t\/[^/]+\//, '/t/…/')
    return { to, method: req.method(), path, part: Number(u.searchParams.get('partNumber')) || 0, phase }
  }
  ctx.on('request', (req) => {
    const e = describe(req)
    if (e.to === 'page') return
    entries.set(req, e)
    log.push(e)
  })
  // A response is the end of a request here: the store has a part once it
  // answers its PUT, and a fetch whose body nobody reads (6.x's DELETE)
  // may never "finish" in the browser's sense.
  ctx.on('response', async (resp) => {
    const e = entries.get(resp.request())
    if (!e) return
    e.status = resp.status()
    if (e.to === 'presign' && e.method === 'POST' && e.path.endsWith('/s3/multipart') && e.status === 200) {
      try { e.key = (await resp.json()).key } catch { /* recorded without */ }
    }
    if (e.to === 'presign' && e.status >= 400) {
      try { e.body = await resp.text() } catch { /* recorded without */ }
    }
    e.done = true
  })
  ctx.on('requestfailed', (req) => {
    const e = entries.get(req)
    if (!e) return
    e.failure = req.failure()?.errorText ?? 'failed'
    e.done = true
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
  const api = {
    log,
    setPhase(p) { phase = p },
    hold(fn) { gate = fn },
    held: () => held.length,
    // Ends the gate; what it held fails (the page has given up on it by
    // then: a held request let through late would still reach the store).
    async drop() {
      gate = null
      const routes = held
      held = []
      await Promise.all(routes.map((r) => r.abort().catch(() => {})))
    },
    finishedParts: (ph) => log.filter((e) => e.to === 'store' && e.method === 'PUT' && e.part && e.status === 200 && (!ph || e.phase === ph)).map((e) => e.part),
    settled: () => log.every((e) => e.done),
  }
  return { ctx, api }
}

async function openPage(ctx, line, init) {
  const page = await ctx.newPage()
  page.on('console', (m) => console.error(`${line} page ${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => console.error(`${line} page error: ${e.message}`))
  await page.goto(`${cfg.page}/${line}/`)
  const versions = await page.evaluate((c) => window.harness.init(c), init)
  return { page, versions }
}

// Each scenario returns what TestUppy checks, plus the requests it made.
const scenarios = {
  // /s3/params: one POST form.
  async small(ctx, api, line, init) {
    const { page } = await openPage(ctx, line, { ...init, id: `${line}-small` })
    const file = await page.evaluate((s) => harness.add({ name: 'small wörld.txt', type: 'text/plain', size: s }), cfg.sizes.small)
    await page.evaluate(() => harness.upload())
    const outcome = await page.evaluate((id) => harness.wait(id), file.id)
    await page.close()
    return { file, outcome }
  },

  // Multipart: 5 MiB, 5 MiB and a short last part.
  async large(ctx, api, line, init) {
    const { page } = await openPage(ctx, line, { ...init, id: `${line}-large` })
    const file = await page.evaluate((s) => harness.add({ name: 'large.mp4', type: 'video/mp4', size: s }), cfg.sizes.large)
    await page.evaluate(() => harness.upload())
    const outcome = await page.evaluate((id) => harness.wait(id), file.id)
    await page.close()
    return { file, outcome }
  },

  // Paused once part 1 is on the store (parts 2 and up held back), resumed
  // after a quiet while.
  async pause(ctx, api, line, init) {
    const { page } = await openPage(ctx, line, { ...init, id: `${line}-pause` })
    const file = await page.evaluate((s) => harness.add({ name: 'pause.pdf', type: 'application/pdf', size: s }), cfg.sizes.pause)
    api.hold((n) => n >= 2)
    await page.evaluate(() => harness.upload())
    await until('part 1 on the store and part 2 held', () => api.finishedParts().includes(1) && api.held() > 0)
    const pausedFlag = await page.evaluate((id) => harness.pause(id), file.id)
    await api.drop()
    api.setPhase('paused')
    await sleep(500)
    api.setPhase('resumed')
    const resumedFlag = await page.evaluate((id) => harness.resume(id), file.id)
    const outcome = await page.evaluate((id) => harness.wait(id), file.id)
    await page.close()
    return { file, outcome, pausedFlag, resumedFlag }
  },

  // Cancelled once part 1 is on the store (parts 2 and up held back).
  async abort(ctx, api, line, init) {
    const { page } = await openPage(ctx, line, { ...init, id: `${line}-abort` })
    const file = await page.evaluate((s) => harness.add({ name: 'abort.bin', type: 'application/octet-stream', size: s }), cfg.sizes.abort)
    api.hold((n) => n >= 2)
    await page.evaluate(() => harness.upload())
    await until('part 1 on the store and part 2 held', () => api.finishedParts().includes(1) && api.held() > 0)
    const before = await page.evaluate((id) => harness.file(id), file.id)
    api.setPhase('cancelled')
    const removed = await page.evaluate((id) => harness.cancel(id), file.id)
    await until('the DELETE answered', () => api.log.some((e) => e.method === 'DELETE' && e.done))
    await api.drop()
    await until('every request settled', () => api.settled())
    await page.close()
    return { file, before, removed }
  },

  // Parts 1 and 2 on the store, part 3 in flight (held), then the page
  // reloads; Golden Retriever brings the file back and the upload resumes.
  async reload(ctx, api, line, init) {
    const id = `${line}-reload`
    let { page } = await openPage(ctx, line, { ...init, id, goldenRetriever: true })
    const file = await page.evaluate((s) => harness.add({ name: 'reload.mov', type: 'video/quicktime', size: s }), cfg.sizes.reload)
    api.hold((n) => n >= 3)
    await page.evaluate(() => harness.upload())
    await until('parts 1 and 2 on the store and part 3 held', () => {
      const done = api.finishedParts()
      return done.includes(1) && done.includes(2) && api.held() > 0
    })
    const before = await page.evaluate((fid) => harness.file(fid), file.id)
    let saved
    await until('Golden Retriever saved the blob and s3Multipart', async () => {
      saved = await page.evaluate((fid) => harness.persisted(fid), file.id)
      return saved.blob === file.size && saved.s3Multipart
    })
    api.setPhase('reloaded')
    await page.reload()
    await api.drop()
    await page.evaluate((c) => harness.init(c), { ...init, id, goldenRetriever: true })
    const restored = await page.evaluate(() => harness.restore())
    const outcome = await page.evaluate((fid) => harness.wait(fid), file.id)
    await page.close()
    return { file, before, saved, restored, outcome }
  },

  // Over the rule's max_size: refused at complete.
  async over(ctx, api, line, init) {
    const { page } = await openPage(ctx, line, { ...init, id: `${line}-over` })
    const file = await page.evaluate((s) => harness.add({ name: 'over.bin', type: 'application/octet-stream', size: s }), cfg.sizes.over)
    await page.evaluate(() => harness.upload())
    const outcome = await page.evaluate((id) => harness.wait(id), file.id)
    // 5.x aborts a failed upload itself: let that request end.
    await sleep(300)
    await until('every request settled', () => api.settled())
    await page.close()
    return { file, outcome }
  },
}

async function runLine(browser, { line, init }) {
  const out = { versions: null, scenarios: {} }
  for (const [name, fn] of Object.entries(scenarios)) {
    const { ctx, api } = await scenarioContext(browser)
    const started = Date.now()
    try {
      out.scenarios[name] = await fn(ctx, api, line, init)
    } catch (err) {
      out.scenarios[name] = { error: String(err?.stack ?? err) }
    }
    out.scenarios[name].requests = api.log
    out.scenarios[name].ms = Date.now() - started
    await ctx.close()
  }
  // The versions the bundle reports.
  const ctx = await browser.newContext()
  const page = await ctx.newPage()
  await page.goto(`${cfg.page}/${line}/`)
  out.versions = await page.evaluate(() => harness.versions)
  await ctx.close()
  return [line, out]
}

const browser = await launch()
try {
  // The lines run side by side, each in its own contexts.
  const results = await Promise.all(cfg.lines.map((l) => runLine(browser, l)))
  console.log(JSON.stringify(Object.fromEntries(results)))
} finally {
  await browser.close()
  clearTimeout(deadline)
}
