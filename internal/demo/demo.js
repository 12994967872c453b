// The demo page of `presign dev`: uploads go from the browser straight to
// the store through presigned URLs that this origin's presign API signs —
// a POST form for small files, one PUT for medium ones, a multipart upload
// (pausable, resumable after a reload) for large ones — and each is
// verified by POST /v1/uploads/complete, whose receipt the page shows and
// checks against /.well-known/jwks.json. Plain JavaScript, no build step,
// nothing loaded from elsewhere.
'use strict';

(() => {
  const API = location.origin;
  const MiB = 1024 * 1024;
  const MAX_PUT = 5 * 1024 * MiB; // S3's limit of one PUT
  const PART_BATCH = 100; // part URLs per /v1/uploads/parts call
  const PART_CONCURRENCY = 3; // part PUTs in flight per file
  const STORE = {
    key: 'presign-demo:api-key',
    uploads: 'presign-demo:uploads', // unfinished multipart uploads, by upload token
    limits: 'presign-demo:limits',
  };

  const $ = (id) => document.getElementById(id);

  // el('tag', {class, text, dataset-like 'data-x', attributes...}, ...children)
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) e.append(c);
    return e;
  }

  function formatSize(n) {
    if (n < 1024) return `${n} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let u = -1;
    do { v /= 1024; u++; } while (v >= 1024 && u < units.length - 1);
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
  }

  function readJSON(name, fallback) {
    try {
      const v = JSON.parse(localStorage.getItem(name));
      return v === null ? fallback : v;
    } catch {
      return fallback;
    }
  }

  // ---- Errors ----------------------------------------------------------

  // An error presign answered ({"error":{"code","message"}}), or one of the
  // store's, or the network's; message is fit to show.
  class UploadError extends Error {
    constructor(code, message, status = 0) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  const isAbort = (e) => e && e.name === 'AbortError';
  const abortError = () => new DOMException('stopped', 'AbortError');

  // The message of an S3 error document, when the body is one.
  function storeErrorMessage(status, text) {
    try {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      const code = doc.getElementsByTagName('Code')[0]?.textContent;
      const msg = doc.getElementsByTagName('Message')[0]?.textContent;
      if (code) return `the store refused it (${status} ${code}${msg ? ': ' + msg : ''})`;
    } catch { /* not XML */ }
    return `the store answered ${status}`;
  }

  // ---- presign's API -----------------------------------------------------

  const apiKey = () => localStorage.getItem(STORE.key) || '';

  async function call(path, body) {
    const key = apiKey();
    if (!key) throw new UploadError('unauthenticated', 'Sign in with the API key first.');
    let res;
    try {
      res = await fetch(API + path, {
        method: 'POST',
        headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new UploadError('unavailable', `presign did not answer (${e.message})`);
    }
    let data = null;
    try { data = await res.json(); } catch { /* no JSON body */ }
    if (!res.ok) {
      const err = data && data.error;
      if (err && err.message) throw new UploadError(err.code || 'error', err.message, res.status);
      throw new UploadError('error', `${path} answered ${res.status}`, res.status);
    }
    return data;
  }

  // The headers of a grant the browser may send: all but Content-Length,
  // which it computes from the body itself (and may not set).
  function sendable(headers) {
    const out = {};
    for (const [k, v] of Object.entries(headers || {})) {
      if (k.toLowerCase() !== 'content-length') out[k] = v;
    }
    return out;
  }

  // send makes one request to the store with XMLHttpRequest, for its upload
  // progress events: onProgress(loaded, total). It resolves with the status,
  // the ETag and the body, and rejects with an UploadError (or an AbortError
  // when signal aborts).
  function send(method, url, { headers = {}, body = null, onProgress, signal } = {}) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) { reject(abortError()); return; }
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      for (const [k, v] of Object.entries(sendable(headers))) xhr.setRequestHeader(k, v);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
      const stop = () => xhr.abort();
      if (signal) signal.addEventListener('abort', stop, { once: true });
      const done = () => { if (signal) signal.removeEventListener('abort', stop); };
      xhr.onload = () => {
        done();
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag'), text: xhr.responseText });
        } else {
          reject(new UploadError('store', storeErrorMessage(xhr.status, xhr.responseText), xhr.status));
        }
      };
      xhr.onerror = () => {
        done();
        reject(new UploadError('store', 'the request to the store failed (network, or the bucket\'s CORS rules)'));
      };
      xhr.onabort = () => { done(); reject(abortError()); };
      xhr.send(body);
    });
  }

  // ---- Receipts ----------------------------------------------------------

  function b64urlBytes(s) {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }
  const b64urlJSON = (s) => JSON.parse(new TextDecoder().decode(b64urlBytes(s)));

  let jwks = null; // the promise of /.well-known/jwks.json

  async function publicKey(kid) {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!jwks || attempt > 0) {
        jwks = fetch(API + '/.well-known/jwks.json').then((r) => {
          if (!r.ok) throw new Error(`/.well-known/jwks.json answered ${r.status}`);
          return r.json();
        });
      }
      const set = await jwks;
      const key = (set.keys || []).find((k) => k.kid === kid);
      if (key) return key;
    }
    return null;
  }

  // checkReceipt verifies a compact JWS with WebCrypto against the
  // server's published keys: {ok, why}.
  async function checkReceipt(jws) {
    const [h, p, s] = jws.split('.');
    const header = b64urlJSON(h);
    if (!window.crypto || !crypto.subtle) return { ok: false, why: 'not checked here: WebCrypto needs a secure context (https or localhost)' };
    const jwk = await publicKey(header.kid);
    if (!jwk) return { ok: false, why: `not checked: /.well-known/jwks.json has no key "${header.kid}"` };
    let importAlg;
    let verifyAlg;
    if (header.alg === 'EdDSA' && jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
      importAlg = verifyAlg = { name: 'Ed25519' };
    } else if (header.alg === 'ES256' && jwk.kty === 'EC' && jwk.crv === 'P-256') {
      importAlg = { name: 'ECDSA', namedCurve: 'P-256' };
      verifyAlg = { name: 'ECDSA', hash: 'SHA-256' };
    } else {
      return { ok: false, why: `not checked: algorithm ${header.alg} with a ${jwk.kty} key` };
    }
    let key;
    try {
      const pub = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
      if (jwk.y) pub.y = jwk.y;
      key = await crypto.subtle.importKey('jwk', pub, importAlg, false, ['verify']);
    } catch (e) {
      return { ok: false, why: `not checked: this browser cannot use ${header.alg} keys (${e.message})` };
    }
    const ok = await crypto.subtle.verify(verifyAlg, key, b64urlBytes(s), new TextEncoder().encode(h + '.' + p));
    return ok ? { ok: true, kid: header.kid, alg: header.alg }
      : { ok: false, bad: true, why: 'the signature does NOT match the server\'s key: do not trust this receipt' };
  }

  // ---- Unfinished multipart uploads (localStorage) ------------------------

  const saved = () => readJSON(STORE.uploads, {});
  function remember(item) {
    const all = saved();
    all[item.upload] = {
      upload: item.upload, key: item.key, name: item.file.name, size: item.file.size,
      lastModified: item.file.lastModified, type: item.type, part_size: item.partSize,
      part_count: item.partCount, started: item.started,
    };
    localStorage.setItem(STORE.uploads, JSON.stringify(all));
  }
  function forget(upload) {
    const all = saved();
    delete all[upload];
    localStorage.setItem(STORE.uploads, JSON.stringify(all));
  }

  const active = new Map(); // upload token -> item, while on the page

  function renderUnfinished() {
    const list = $('unfinished-list');
    list.replaceChildren();
    const waiting = Object.values(saved()).filter((r) => !active.has(r.upload));
    $('unfinished').hidden = waiting.length === 0;
    for (const r of waiting) {
      const li = el('li', { class: 'unfinished', 'data-name': r.name, 'data-upload': r.upload },
        el('span', { class: 'name', text: r.name }),
        el('span', { class: 'size', text: ` ${formatSize(r.size)}, ${r.part_count} parts` }),
        el('span', { class: 'held', text: '' }));
      const discard = el('button', { type: 'button', class: 'discard', text: 'Discard' });
      discard.addEventListener('click', async () => {
        discard.disabled = true;
        try {
          await call('/v1/uploads/abort', { upload: r.upload });
        } catch (e) {
          if (e.status !== 404) { li.querySelector('.held').textContent = ' — ' + e.message; discard.disabled = false; return; }
        }
        forget(r.upload);
        renderUnfinished();
      });
      li.append(' ', discard);
      list.append(li);
      // What the store holds of it.
      if (apiKey()) {
        call('/v1/uploads/list', { upload: r.upload }).then((res) => {
          const bytes = res.parts.reduce((n, p) => n + p.size, 0);
          li.querySelector('.held').textContent = ` — ${res.parts.length} on the store (${formatSize(bytes)})`;
        }, (e) => {
          li.querySelector('.held').textContent = ` — ${e.message}`;
        });
      }
    }
  }

  // ---- Uploads -----------------------------------------------------------

  function limits() {
    const mib = (id, dflt) => {
      const v = parseFloat($(id).value);
      return Number.isFinite(v) && v >= 0 ? v * MiB : dflt * MiB;
    };
    return { post: mib('post-max', 1), put: Math.min(mib('put-max', 16), MAX_PUT) };
  }

  function methodFor(size) {
    const l = limits();
    if (size <= l.post) return 'post';
    if (size <= l.put) return 'put';
    return 'multipart';
  }

  const METHOD_LABEL = { post: 'POST form', put: 'one PUT', multipart: 'multipart' };

  class Item {
    constructor(file, resume) {
      this.file = file;
      this.type = file.type || 'application/octet-stream';
      this.key = resume ? resume.key : file.name;
      this.method = resume ? 'multipart' : methodFor(file.size);
      this.sent = 0;
      this.upload = resume ? resume.upload : null;
      this.partSize = resume ? resume.part_size : 0;
      this.partCount = resume ? resume.part_count : 0;
      this.started = resume ? resume.started : Date.now();
      this.resume = !!resume; // list the store's parts before sending
      this.controller = null;
      this.pausing = false;
      this.build();
    }

    build() {
      const f = this.file;
      this.progress = el('progress', { max: Math.max(f.size, 1), value: 0 });
      this.pct = el('span', { class: 'pct', text: '0%' });
      this.status = el('span', { class: 'status' });
      this.pauseBtn = el('button', { type: 'button', class: 'pause', text: 'Pause', hidden: true });
      this.resumeBtn = el('button', { type: 'button', class: 'resume', text: 'Resume', hidden: true });
      this.cancelBtn = el('button', { type: 'button', class: 'cancel', text: 'Cancel' });
      this.error = el('p', { class: 'error', role: 'alert', hidden: true });
      this.result = el('div', { class: 'result', hidden: true });
      this.row = el('li', { class: 'item', 'data-name': f.name, 'data-method': this.method },
        el('div', { class: 'head' },
          el('span', { class: 'name', text: f.name }),
          el('span', { class: 'meta', text: `${formatSize(f.size)} · ${METHOD_LABEL[this.method]}` })),
        el('div', { class: 'bar' }, this.progress, this.pct),
        el('div', { class: 'line' }, this.status, el('span', { class: 'controls' }, this.pauseBtn, this.resumeBtn, this.cancelBtn)),
        this.error, this.result);
      this.pauseBtn.addEventListener('click', () => this.pause());
      this.resumeBtn.addEventListener('click', () => this.start());
      this.cancelBtn.addEventListener('click', () => this.cancel());
      $('queue').prepend(this.row);
    }

    setState(state, text) {
      this.state = state;
      this.row.dataset.state = state;
      this.status.textContent = text;
      const multipart = this.method === 'multipart';
      this.pauseBtn.hidden = !(multipart && state === 'uploading');
      this.resumeBtn.hidden = !(multipart && (state === 'paused' || (state === 'error' && this.upload)));
      // A failed single upload has nothing left to cancel: Remove drops its row.
      this.cancelBtn.textContent = state === 'error' && !this.upload ? 'Remove' : 'Cancel';
      this.cancelBtn.hidden = state === 'verified' || state === 'cancelled';
      if (state !== 'error') this.error.hidden = true;
    }

    fail(e) {
      this.setState('error', this.upload ? 'failed: resume to try again' : 'failed');
      this.error.hidden = false;
      this.error.textContent = e.code && e.code !== 'store' && e.code !== 'error' ? `${e.message} (${e.code})` : e.message;
    }

    setSent(n) {
      this.sent = Math.min(n, this.file.size);
      this.progress.value = this.sent;
      this.pct.textContent = `${Math.floor((100 * this.sent) / Math.max(this.file.size, 1))}%`;
    }

    async start() {
      this.pausing = false;
      this.controller = new AbortController();
      this.setState('uploading', this.resume ? 'resuming…' : 'uploading…');
      try {
        if (this.method === 'post') await this.post();
        else if (this.method === 'put') await this.put();
        else await this.multipart();
      } catch (e) {
        if (isAbort(e)) {
          if (this.pausing) this.setState('paused', `paused at ${formatSize(this.sent)}`);
          return;
        }
        this.fail(e);
      }
    }

    async post() {
      const g = await call('/v1/presign', { op: 'post', key: this.key, content_type: this.type, content_length: this.file.size });
      this.key = g.key;
      const form = new FormData();
      for (const [k, v] of Object.entries(g.fields || {})) form.append(k, v);
      form.append('file', this.file); // last: the store ignores fields after it
      await send('POST', g.url, {
        headers: g.headers, body: form, signal: this.controller.signal,
        onProgress: (loaded, total) => this.setSent(total ? (this.file.size * loaded) / total : 0),
      });
      await this.verify({ upload: g.upload });
    }

    async put() {
      const g = await call('/v1/presign', { op: 'put', key: this.key, content_type: this.type, content_length: this.file.size });
      this.key = g.key;
      await send('PUT', g.url, {
        headers: g.headers, body: this.file, signal: this.controller.signal,
        onProgress: (loaded) => this.setSent(loaded),
      });
      await this.verify({ upload: g.upload });
    }

    partLength(n) {
      return Math.min(this.partSize, this.file.size - (n - 1) * this.partSize);
    }

    async multipart() {
      const signal = this.controller.signal;
      if (!this.upload) {
        const up = await call('/v1/uploads', { key: this.key, filename: this.file.name, content_type: this.type, size: this.file.size });
        Object.assign(this, { upload: up.upload, key: up.key, partSize: up.part_size, partCount: up.part_count });
        remember(this);
      }
      active.set(this.upload, this);
      renderUnfinished();
      this.row.dataset.upload = this.upload;
      // After a pause or a reload, the parts the store holds are not sent
      // again (one of another size is).
      const etags = new Map();
      if (this.resume) {
        let listed;
        try {
          listed = await call('/v1/uploads/list', { upload: this.upload });
        } catch (e) {
          if (e.status !== 404) throw e;
          // The upload ended on the store (completed, aborted or expired
          // elsewhere): start afresh.
          forget(this.upload);
          active.delete(this.upload);
          Object.assign(this, { upload: null, resume: false });
          return this.multipart();
        }
        for (const p of listed.parts) if (p.size === this.partLength(p.part_number)) etags.set(p.part_number, p.etag);
      }
      this.resume = true;
      if (signal.aborted) throw abortError();
      const inFlight = new Map();
      const progress = () => {
        let n = 0;
        for (const k of etags.keys()) n += this.partLength(k);
        for (const v of inFlight.values()) n += v;
        this.setSent(n);
      };
      progress();
      const missing = [];
      for (let n = 1; n <= this.partCount; n++) if (!etags.has(n)) missing.push(n);
      this.setState('uploading', `${missing.length} of ${this.partCount} parts to send`);
      for (let i = 0; i < missing.length; i += PART_BATCH) {
        const { parts } = await call('/v1/uploads/parts', { upload: this.upload, part_numbers: missing.slice(i, i + PART_BATCH) });
        let next = 0;
        const worker = async () => {
          while (next < parts.length) {
            const p = parts[next++];
            const n = p.part_number;
            const start = (n - 1) * this.partSize;
            const res = await send('PUT', p.url, {
              headers: p.headers, body: this.file.slice(start, start + this.partLength(n)), signal,
              onProgress: (loaded) => { inFlight.set(n, loaded); progress(); },
            });
            if (!res.etag) throw new UploadError('store', 'the store did not expose the part\'s ETag (the bucket\'s CORS rule must expose ETag)');
            inFlight.delete(n);
            etags.set(n, res.etag);
            progress();
            this.status.textContent = `${etags.size} of ${this.partCount} parts on the store`;
          }
        };
        const workers = Array.from({ length: Math.min(PART_CONCURRENCY, parts.length) }, worker);
        try {
          await Promise.all(workers);
        } catch (e) {
          // One part failed (or the upload was paused): stop the others.
          this.controller.abort();
          throw isAbort(e) || signal.aborted ? abortError() : e;
        }
      }
      const parts = [...etags].sort((a, b) => a[0] - b[0]).map(([n, etag]) => ({ part_number: n, etag }));
      await this.verify({ upload: this.upload, parts });
      forget(this.upload);
      active.delete(this.upload);
      renderUnfinished();
    }

    pause() {
      if (this.state !== 'uploading') return;
      this.pausing = true;
      this.controller.abort();
    }

    async cancel() {
      if (this.state === 'error' && !this.upload) {
        this.row.remove();
        return;
      }
      const wasMultipart = this.method === 'multipart' && this.upload;
      this.pausing = false;
      if (this.controller) this.controller.abort();
      this.setState('cancelled', 'cancelled');
      if (wasMultipart) {
        try {
          await call('/v1/uploads/abort', { upload: this.upload });
        } catch (e) {
          if (e.status !== 404) { this.fail(e); return; }
        }
        forget(this.upload);
        active.delete(this.upload);
        renderUnfinished();
      }
    }

    // verify asks presign to check the upload on the store, and shows what
    // it found and the receipt.
    async verify(body) {
      if (!body.upload) throw new UploadError('unsupported', 'presign gave no upload token (no uploads secret configured), so the upload cannot be verified');
      this.setState('verifying', 'verifying on the store…');
      const r = await call('/v1/uploads/complete', body);
      this.setSent(this.file.size);
      this.progress.value = this.progress.max;
      this.pct.textContent = '100%';
      this.row.dataset.key = r.key;
      const dl = el('dl', { class: 'facts' });
      const fact = (name, value, cls) => {
        if (value === undefined || value === null || value === '') return;
        dl.append(el('dt', { text: name }), el('dd', { class: cls, text: String(value) }));
      };
      fact('key', r.key, 'key');
      fact('bucket', r.bucket, 'bucket');
      fact('size', `${r.size} bytes`, 'size');
      fact('ETag', r.etag, 'etag');
      fact('type', r.content_type, 'type');
      fact('checksum', r.checksum, 'checksum');
      if (r.server_data) fact('server data', JSON.stringify(r.server_data), 'server-data');
      this.result.replaceChildren(el('p', { class: 'verified', text: '✓ verified by presign on the store' }), dl);
      if (r.receipt) await this.showReceipt(r.receipt);
      else this.result.append(el('p', { class: 'receipt-none', text: 'no receipt: this presign has no receipt keys' }));
      this.result.hidden = false;
      this.setState('verified', `verified: ${formatSize(r.size)} at ${r.key}`);
      files.refreshSoon();
    }

    async showReceipt(jws) {
      const box = el('div', { class: 'receipt' }, el('h4', { text: 'Receipt' }));
      let claims;
      try {
        claims = b64urlJSON(jws.split('.')[1]);
      } catch {
        box.append(el('p', { class: 'error', text: 'the receipt is not a compact JWS' }));
        this.result.append(box);
        return;
      }
      const dl = el('dl', { class: 'claims' });
      for (const [k, v] of Object.entries(claims)) {
        const shown = k === 'iat' ? `${v} (${new Date(v * 1000).toISOString()})` : typeof v === 'string' ? v : JSON.stringify(v);
        dl.append(el('dt', { text: k }), el('dd', { 'data-claim': k, text: shown }));
      }
      const sig = el('p', { class: 'signature', 'data-verified': 'false', text: 'checking the signature…' });
      box.append(sig, dl, el('details', {}, el('summary', { text: 'the receipt (JWS)' }), el('code', { class: 'jws', text: jws })));
      this.result.append(box);
      let check;
      try {
        check = await checkReceipt(jws);
      } catch (e) {
        check = { ok: false, why: `not checked: ${e.message}` };
      }
      if (check.ok) {
        sig.dataset.verified = 'true';
        sig.textContent = `✓ signature checked (${check.alg}, key "${check.kid}") by the server's keys at /.well-known/jwks.json`;
      } else {
        sig.className = check.bad ? 'signature bad' : 'signature';
        sig.textContent = check.why;
      }
    }
  }

  function addFiles(list) {
    const unfinished = Object.values(saved());
    for (const file of list) {
      const match = unfinished.find((r) => !active.has(r.upload) && r.name === file.name && r.size === file.size && r.lastModified === file.lastModified);
      const item = new Item(file, match);
      if (match) active.set(match.upload, item);
      item.start();
    }
    renderUnfinished();
  }

  // ---- Your files ---------------------------------------------------------

  const files = {
    timer: 0,
    refreshSoon() {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(), 300);
    },
    async refresh() {
      const status = $('files-status');
      if (!apiKey()) {
        status.textContent = 'Sign in to list your files.';
        $('files-table').hidden = true;
        return null;
      }
      status.textContent = 'listing…';
      status.dataset.state = 'loading';
      try {
        const objects = [];
        let token = '';
        for (let page = 0; page < 20; page++) {
          const req = { op: 'list', prefix: '' };
          if (token) req.continuation_token = token;
          const g = await call('/v1/presign', req);
          const res = await fetch(g.url, { method: g.method || 'GET', headers: sendable(g.headers) });
          const text = await res.text();
          if (!res.ok) throw new UploadError('store', storeErrorMessage(res.status, text), res.status);
          const doc = new DOMParser().parseFromString(text, 'application/xml');
          const field = (node, name) => node.getElementsByTagName(name)[0]?.textContent ?? '';
          for (const c of doc.getElementsByTagName('Contents')) {
            objects.push({ key: field(c, 'Key'), size: Number(field(c, 'Size')), modified: field(c, 'LastModified') });
          }
          token = field(doc, 'NextContinuationToken');
          if (field(doc, 'IsTruncated') !== 'true' || !token) break;
        }
        this.render(objects);
        status.textContent = objects.length ? `${objects.length} file${objects.length === 1 ? '' : 's'}` : 'No files yet.';
        status.dataset.state = 'done';
        return null;
      } catch (e) {
        status.textContent = `Listing failed: ${e.message}`;
        status.dataset.state = 'error';
        return e;
      }
    },
    render(objects) {
      const body = $('files-body');
      body.replaceChildren();
      for (const o of objects) {
        const name = o.key.split('/').pop() || o.key;
        const link = el('a', { href: '#', class: 'download', 'data-key': o.key, title: `download ${o.key} as ${name}`, text: o.key });
        const note = el('span', { class: 'note' });
        link.addEventListener('click', async (ev) => {
          ev.preventDefault();
          note.textContent = '';
          try {
            // Signed on click: the URL lives minutes, and names the file
            // in its Content-Disposition.
            const g = await call('/v1/presign', { op: 'get', key: o.key, filename: name });
            location.assign(g.url);
          } catch (e) {
            note.textContent = ` ${e.message}`;
          }
        });
        body.append(el('tr', { 'data-key': o.key },
          el('td', {}, link, note),
          el('td', { class: 'num', text: formatSize(o.size) }),
          el('td', { text: o.modified.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') })));
      }
      $('files-table').hidden = objects.length === 0;
    },
  };

  // ---- Sign in --------------------------------------------------------------

  function showSignedIn() {
    const key = apiKey();
    $('signout-button').hidden = !key;
    $('signin-status').dataset.state = key ? 'signed-in' : 'signed-out';
    $('signin-status').textContent = key ? `Signed in with …${key.slice(-4)}.` : 'Not signed in.';
    $('api-key').value = key;
  }

  async function signIn(key) {
    localStorage.setItem(STORE.key, key);
    showSignedIn();
    jwks = null;
    renderUnfinished();
    // Listing the files is the first call the key makes: a key presign
    // does not know is refused there.
    const err = await files.refresh();
    if (err && err.status === 401) {
      $('signin-status').dataset.state = 'error';
      $('signin-status').textContent = `presign refused the key: ${err.message}. Uploads will fail until you sign in with the key presign dev printed.`;
    }
  }

  function init() {
    const l = readJSON(STORE.limits, null);
    if (l) {
      if (Number.isFinite(l.post)) $('post-max').value = l.post;
      if (Number.isFinite(l.put)) $('put-max').value = l.put;
    }
    for (const id of ['post-max', 'put-max']) {
      $(id).addEventListener('change', () => localStorage.setItem(STORE.limits, JSON.stringify({
        post: parseFloat($('post-max').value), put: parseFloat($('put-max').value),
      })));
    }

    $('signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const key = $('api-key').value.trim();
      if (key) signIn(key);
    });
    $('signout-button').addEventListener('click', () => {
      localStorage.removeItem(STORE.key);
      showSignedIn();
      files.refresh();
    });
    $('refresh-files').addEventListener('click', () => files.refresh());

    $('files').addEventListener('change', (ev) => {
      addFiles([...ev.target.files]);
      ev.target.value = '';
    });
    const drop = $('drop');
    drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (ev) => {
      ev.preventDefault();
      drop.classList.remove('over');
      if (ev.dataTransfer && ev.dataTransfer.files.length) addFiles([...ev.dataTransfer.files]);
    });
    // A file dropped next to the zone must not replace the page.
    window.addEventListener('dragover', (ev) => ev.preventDefault());
    window.addEventListener('drop', (ev) => ev.preventDefault());

    showSignedIn();
    renderUnfinished();
    files.refresh();
  }

  init();
})();
