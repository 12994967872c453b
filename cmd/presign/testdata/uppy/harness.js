// TestUppy's page harness: what an app does with Uppy, through Uppy's public
// API only (new Uppy, use(AwsS3), use(GoldenRetriever), addFile, upload,
// pauseResume / pauseAll / resumeAll, removeFile / cancelAll, the
// 'restore-confirmed' event Dashboard's "resume" button emits, and the
// upload-success / upload-error / upload-progress events). run.mjs calls
// these functions with page.evaluate; the page decides nothing, TestUppy
// checks the store.
'use strict'
;(() => {
  const { line, Uppy, AwsS3, GoldenRetriever, versions } = window.UppyLine
  const MiB = 1024 * 1024
  let uppy
  let restored
  const outcomes = {} // file ID → {promise, resolve}
  const progress = {} // file ID → the last upload-progress bytesUploaded

  function outcome(id) {
    if (!outcomes[id]) {
      let resolve
      const promise = new Promise((r) => { resolve = r })
      outcomes[id] = { promise, resolve }
    }
    return outcomes[id]
  }

  function hex(buf) {
    return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('')
  }

  // Random bytes: getRandomValues fills at most 64 KiB at a time.
  function randomBytes(n) {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
    return out
  }

  function idbRequest(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
  }

  window.harness = {
    line,
    versions,

    // cfg: {id, companionEndpoint (6.x) | endpoint + apiKey (5.x),
    // multipartOver (bytes), goldenRetriever (bool)}.
    init(cfg) {
      uppy = new Uppy({ id: cfg.id, autoProceed: false })
      const s3 = { shouldUseMultipart: (file) => file.size > cfg.multipartOver }
      if (line === 'v6') {
        s3.companionEndpoint = cfg.companionEndpoint
      } else {
        s3.endpoint = cfg.endpoint
        s3.headers = { Authorization: 'Bearer ' + cfg.apiKey }
      }
      uppy.use(AwsS3, s3)
      restored = new Promise((resolve) => uppy.on('restored', () => resolve(true)))
      if (cfg.goldenRetriever) {
        // The file blobs go to IndexedDB; the default cap is 10 MiB a file.
        uppy.use(GoldenRetriever, { indexedDB: { maxFileSize: 64 * MiB } })
      }
      uppy.on('upload-success', (file, response) => {
        outcome(file.id).resolve({
          ok: true,
          key: response?.body?.key ?? null,
          location: response?.body?.location ?? null,
          uploadURL: response?.uploadURL ?? null,
        })
      })
      uppy.on('upload-error', (file, err) => {
        outcome(file.id).resolve({ ok: false, error: String(err?.message ?? err) })
      })
      uppy.on('upload-progress', (file, p) => { progress[file.id] = p.bytesUploaded })
      return versions
    },

    // Adds a file of size random bytes; returns its ID and SHA-256.
    async add({ name, type, size }) {
      const data = new Blob([randomBytes(size)], { type })
      const sha256 = hex(await crypto.subtle.digest('SHA-256', await data.arrayBuffer()))
      const id = uppy.addFile({ name, type, data, source: 'test' })
      return { id, sha256, size: data.size }
    },

    // Starts the upload and returns at once; wait() gives each file's end.
    upload() {
      uppy.upload().catch((err) => console.error('uppy.upload: ' + err))
    },

    wait(id, ms = 60000) {
      return Promise.race([
        outcome(id).promise,
        new Promise((resolve) => setTimeout(() => resolve({ ok: false, error: `no upload-success or upload-error within ${ms} ms` }), ms)),
      ])
    },

    file(id) {
      const f = uppy.getFile(id)
      if (!f) return null
      return {
        id: f.id, size: f.size, isPaused: !!f.isPaused, isGhost: !!f.isGhost, isRestored: !!f.isRestored,
        s3Multipart: f.s3Multipart ?? null, progress: progress[id] ?? 0,
      }
    },

    // The two lines' own calls: 6.x pauses and resumes one file
    // (pauseResume), 5.x all of them (pauseAll, resumeAll).
    pause(id) {
      if (line === 'v6') uppy.pauseResume(id)
      else uppy.pauseAll()
      return !!uppy.getFile(id).isPaused
    },
    resume(id) {
      if (line === 'v6') uppy.pauseResume(id)
      else uppy.resumeAll()
      return !!uppy.getFile(id).isPaused
    },

    // 6.x removes the file, 5.x cancels everything: both abort the upload.
    cancel(id) {
      if (line === 'v6') uppy.removeFile(id)
      else uppy.cancelAll()
      return uppy.getFile(id) == null
    },

    // Whether Golden Retriever has saved what a reload needs: the file's
    // blob (IndexedDB "uppy-blobs", store "files") and its state with
    // s3Multipart (6.x: IndexedDB store "metadata"; 5.x: localStorage).
    async persisted(id) {
      const db = await idbRequest(indexedDB.open('uppy-blobs'))
      try {
        const names = [...db.objectStoreNames]
        const tx = db.transaction(names, 'readonly')
        const blob = await idbRequest(tx.objectStore('files').get(`${uppy.getID()}!${id}`))
        let state
        if (names.includes('metadata')) {
          const rec = await idbRequest(tx.objectStore('metadata').get(uppy.getID()))
          state = rec && JSON.parse(rec.metadata)
        } else {
          const raw = localStorage.getItem('uppyState:' + uppy.getID())
          state = raw && JSON.parse(raw).metadata
        }
        return { blob: blob?.data?.size ?? 0, s3Multipart: state?.files?.[id]?.s3Multipart ?? null }
      } finally {
        db.close()
      }
    },

    // After a reload: waits for Golden Retriever's 'restored', then does
    // what Dashboard's "resume" does (emit 'restore-confirmed').
    async restore() {
      const ok = await Promise.race([restored, new Promise((r) => setTimeout(() => r(false), 10000))])
      if (!ok) return { restored: false, files: [] }
      const files = uppy.getFiles().map((f) => window.harness.file(f.id))
      uppy.emit('restore-confirmed')
      return { restored: true, files }
    },
  }
})()
