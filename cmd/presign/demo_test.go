package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"presign.dev/internal/s3test"
)

// demoDir holds TestDemo's driver; it uses testdata/browser's playwright-core.
const demoDir = "testdata/demo"

type demoRow struct {
	State, Method, Key, Pct, Status, Error string
	Value, Max                             float64
	Facts, Claims                          map[string]string
	Signature                              string
	SignatureVerified                      bool
	Receipt                                string
	Saved                                  string
	UnfinishedHidden                       bool
}

type demoRequest struct {
	To, Method, Path, Phase, Failure string
	Part, Status                     int
	List                             bool
}

type demoResult struct {
	Error string
	Steps struct {
		Open struct {
			Status     int
			CSP, Title string
		}
		WrongKey struct {
			Signin string
			Row    demoRow
		}
		SignIn    struct{ Status, Files string }
		MidUpload struct {
			demoRow
			BarVisible bool
			Box        *struct{ Width, Height float64 }
			Held       int
		}
		Paused       demoRow
		Done         map[string]demoRow
		BeforeReload struct {
			Row   demoRow
			Saved string
		}
		Unfinished string
		Reloaded   demoRow
		Tampered   demoRow
		Files      struct {
			Listed []string
			Status string
		}
		Download *struct{ SuggestedFilename, URL, Failure string }
	}
	Requests []demoRequest
	Console  []string
}

// demoFile is a file the test uploads through the page.
type demoFile struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Path string `json:"path"`
	data []byte
}

// TestDemo runs presign dev's demo page in headless Chromium as a user
// would: presign dev started in-process, /demo/ opened from its own origin,
// a wrong key refused, then the key of dev.json; three files picked at once
// (from buffers): 300 KiB go up as a POST form, 3 MiB as one PUT, 12 MiB in
// three parts, with the part PUTs after the first held so that the
// progress bar shows the upload half done (read from the page, and a
// screenshot taken); the multipart upload paused and resumed (only the
// missing parts sent); another multipart upload interrupted by a reload
// and resumed by dropping the same file again (only the missing part
// sent); each upload verified (the receipt's claims shown and its
// signature checked in the page; one changed on its way refused); "Your files"
// lists all four and a download link saves the right bytes under the
// file's name. The objects are then read back from the store.
func TestDemo(t *testing.T) {
	browser, node := chromium(t)
	// Absolute paths: the embedded store changes the working directory.
	dir, err := filepath.Abs(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	data := filepath.Join(work, "dev")
	c, banner, logs := testCLI(nil)
	api, stop := start(t, c, "dev", "--addr", "127.0.0.1:0", "--s3-addr", freeAddr(t), "--data", data)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("presign's log:\n%s", logs)
		}
	}()
	st := readDevState(t, data)
	store := &s3test.Server{Name: "dev", Endpoint: st.S3Endpoint, Region: st.Region, Bucket: st.Bucket,
		AccessKeyID: st.AccessKeyID, SecretAccessKey: st.SecretAccessKey}
	if want := "  demo       " + api + "/demo/\n"; !strings.Contains(banner.String(), want) {
		t.Errorf("the banner does not link the demo page (%q):\n%s", want, banner)
	}
	// The service still answers everything else, unclean paths included.
	for path, want := range map[string]int{"/demo": http.StatusMovedPermanently, "/healthz": 200, "//v1/presign": 404, "/demonstration": 404} {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(api + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}

	rng := rand.New(rand.NewPCG(10, 5))
	const MiB = 1 << 20
	newFile := func(name, typ string, size int) demoFile {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		path := filepath.Join(work, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return demoFile{Name: name, Type: typ, Path: path, data: b}
	}
	small := newFile("notes-300KiB.txt", "text/plain", 300<<10)       // a POST form
	medium := newFile("Übersicht-3MiB.pdf", "application/pdf", 3*MiB) // one PUT
	big := newFile("film-12MiB.mp4", "video/mp4", 12*MiB)             // parts of 5, 5 and 2 MiB
	reload := newFile("reload-11MiB.bin", "", 11*MiB+7)               // picked from disk: its mtime is its lastModified
	// Whole seconds: the page matches a file by name, size and lastModified.
	mtime := time.Unix(1_700_000_000, 0)
	if err := os.Chtimes(reload.Path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	files := []demoFile{small, medium, big}
	cfg, err := json.Marshal(map[string]any{
		"page": api + "/demo/", "api": api, "store": st.S3Endpoint, "key": st.APIKey, "files": files,
		"reload": reload, "tampered": map[string]string{"name": "tampered.txt", "text": "a receipt changed on its way"}, "screenshot": filepath.Join(work, "mid-upload.png"), "putMaxMiB": 8,
		"download": map[string]string{"key": medium.Name, "path": filepath.Join(work, "download")},
	})
	if err != nil {
		t.Fatal(err)
	}

	var res demoResult
	console, took := runDriver(t, node, browser, dir, 60*time.Second, &res, string(cfg))
	t.Logf("run.mjs took %v; requests:\n%s", took, demoRequests(res.Requests))
	if res.Error != "" {
		t.Fatalf("run.mjs: %s\nbrowser console:\n%s", res.Error, console)
	}
	s := res.Steps

	t.Run("page", func(t *testing.T) {
		if s.Open.Status != 200 || s.Open.Title != "presign demo" || !strings.Contains(s.Open.CSP, "connect-src 'self' "+st.S3Endpoint+";") {
			t.Errorf("opening /demo/: %+v", s.Open)
		}
		for _, line := range res.Console {
			if strings.Contains(line, "Content Security Policy") || strings.HasPrefix(line, "pageerror") {
				t.Errorf("browser console: %s", line)
			}
		}
		if !strings.Contains(s.WrongKey.Signin, "the API key is not valid") {
			t.Errorf("sign-in with a wrong key shows %q, want presign's refusal", s.WrongKey.Signin)
		}
		if r := s.WrongKey.Row; r.State != "error" || !strings.Contains(r.Error, "the API key is not valid (unauthenticated)") {
			t.Errorf("a file with a wrong key: %+v, want presign's error on the row", r)
		}
		if !strings.Contains(s.SignIn.Status, "Signed in") {
			t.Errorf("sign-in: %+v", s.SignIn)
		}
	})

	t.Run("uploads", func(t *testing.T) {
		for _, f := range files {
			r, ok := s.Done[f.Name]
			wantMethod := map[string]string{small.Name: "post", medium.Name: "put", big.Name: "multipart"}[f.Name]
			if !ok || r.State != "verified" || r.Method != wantMethod || r.Key != f.Name {
				t.Errorf("%s: %+v, want verified by %s at its name", f.Name, r, wantMethod)
				continue
			}
			if r.Value != r.Max || r.Max != float64(len(f.data)) || r.Pct != "100%" {
				t.Errorf("%s: progress %v of %v (%s), want all of %d", f.Name, r.Value, r.Max, r.Pct, len(f.data))
			}
			checkDemoVerified(t, f, r)
			checkReceiptWithJose(t, node, api, f.Name, r.Receipt)
		}
		// What went to the store, by way.
		if n := len(calls2(res.Requests, "POST", "store", "", "first")); n != 1 {
			t.Errorf("%d POSTs to the store, want one form", n)
		}
		if n := len(calls2(res.Requests, "PUT", "store", "/"+medium.Name, "first")); n != 1 {
			t.Errorf("%d PUTs of %s, want one", n, medium.Name)
		}
	})

	t.Run("progress visible mid-upload", func(t *testing.T) {
		m := s.MidUpload
		if m.State != "uploading" || m.Value <= 0 || m.Value >= m.Max || !m.BarVisible || m.Box == nil || m.Box.Width < 50 || m.Box.Height < 4 {
			t.Errorf("multipart upload with part 1 stored and %d held: %+v (want a visible bar, 0 < value < max)", m.Held, m)
		}
		pct, _ := strconv.Atoi(strings.TrimSuffix(m.Pct, "%"))
		if pct <= 0 || pct >= 100 {
			t.Errorf("percentage shown %q", m.Pct)
		}
		png, err := os.ReadFile(filepath.Join(work, "mid-upload.png"))
		if err != nil || len(png) < 1000 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("screenshot: %d bytes, %v", len(png), err)
		}
	})

	t.Run("pause and resume", func(t *testing.T) {
		if s.Paused.State != "paused" {
			t.Errorf("after Pause: %+v", s.Paused)
		}
		path := "/" + st.Bucket + "/" + big.Name
		if got := partsPut(res.Requests, path, "first", true); !slices.Equal(got, []int{1}) {
			t.Errorf("parts stored before the pause: %v, want [1]", got)
		}
		if got := partsPut(res.Requests, path, "paused", false); len(got) != 0 {
			t.Errorf("parts sent while paused: %v", got)
		}
		if got := partsPut(res.Requests, path, "resumed", false); !slices.Equal(got, []int{2, 3}) {
			t.Errorf("parts sent after Resume: %v, want [2 3] (the store had part 1)", got)
		}
		if n := len(calls2(res.Requests, "POST", "presign", "/v1/uploads/list", "resumed")); n != 1 {
			t.Errorf("resume listed the store's parts %d times, want once", n)
		}
	})

	t.Run("resume after a reload", func(t *testing.T) {
		path := "/" + st.Bucket + "/" + reload.Name
		if got := partsPut(res.Requests, path, "beforeReload", true); !slices.Equal(got, []int{1, 2}) {
			t.Errorf("parts stored before the reload: %v, want [1 2]", got)
		}
		if !strings.Contains(s.BeforeReload.Saved, `"name":"`+reload.Name+`"`) || !strings.Contains(s.BeforeReload.Saved, `"lastModified":1700000000000`) {
			t.Errorf("localStorage before the reload: %s", s.BeforeReload.Saved)
		}
		if !strings.Contains(s.Unfinished, reload.Name) || !strings.Contains(s.Unfinished, "2 on the store") {
			t.Errorf("after the reload, unfinished uploads show %q", s.Unfinished)
		}
		r := s.Reloaded
		if r.State != "verified" || r.Method != "multipart" || r.Value != r.Max || r.Pct != "100%" {
			t.Errorf("the dropped file: %+v, want its upload resumed and verified", r)
		}
		if got := partsPut(res.Requests, path, "reloaded", false); !slices.Equal(got, []int{3}) {
			t.Errorf("parts sent after the reload: %v, want [3]", got)
		}
		if n := len(calls2(res.Requests, "POST", "presign", "/v1/uploads", "reloaded")); n != 0 {
			t.Errorf("a new upload was started after the reload")
		}
		if r.Saved != "{}" || !r.UnfinishedHidden {
			t.Errorf("after completion, localStorage %s, unfinished list hidden %v", r.Saved, r.UnfinishedHidden)
		}
		checkDemoVerified(t, reload, r)
	})

	t.Run("a changed receipt", func(t *testing.T) {
		r := s.Tampered
		if r.State != "verified" {
			t.Fatalf("tampered.txt: %+v", r)
		}
		if r.SignatureVerified || !strings.Contains(r.Signature, "does NOT match") || r.Claims["key"] != "someone-else.bin" {
			t.Errorf("a receipt whose claims were changed: signature %q (checked: %v), claims %v; want it refused", r.Signature, r.SignatureVerified, r.Claims)
		}
	})

	t.Run("your files", func(t *testing.T) {
		for _, f := range append(files, reload) {
			if !slices.Contains(s.Files.Listed, f.Name) {
				t.Errorf("Your files (%s) lists %q, not %s", s.Files.Status, s.Files.Listed, f.Name)
			}
		}
		if s.Download == nil {
			t.Fatal("no download")
		}
		if s.Download.SuggestedFilename != medium.Name || s.Download.Failure != "" || !strings.HasPrefix(s.Download.URL, st.S3Endpoint+"/") {
			t.Errorf("download: %+v, want %s from the store", s.Download, medium.Name)
		}
		if got, err := os.ReadFile(filepath.Join(work, "download")); err != nil || !bytes.Equal(got, medium.data) {
			t.Errorf("downloaded %d bytes (%v), want the %d uploaded", len(got), err, len(medium.data))
		}
	})

	t.Run("store", func(t *testing.T) {
		for _, f := range append(files, reload) {
			got, ok := store.GetObject(t, f.Name)
			if !ok || len(got) != len(f.data) || sha256.Sum256(got) != sha256.Sum256(f.data) {
				t.Errorf("%s on the store: %d bytes (%v), want %d with the file's SHA-256", f.Name, len(got), ok, len(f.data))
			}
		}
		checkNoUploads(t, store, big.Name)
		checkNoUploads(t, store, reload.Name)
	})
}

// checkDemoVerified: the row shows what complete answered, and the
// receipt's claims, its signature checked in the page.
func checkDemoVerified(t *testing.T, f demoFile, r demoRow) {
	t.Helper()
	size := strconv.Itoa(len(f.data))
	if r.Facts["key"] != f.Name || r.Facts["size"] != size+" bytes" || r.Facts["ETag"] == "" {
		t.Errorf("%s: verified facts %v", f.Name, r.Facts)
	}
	if r.Receipt == "" {
		t.Errorf("%s: no receipt shown (presign dev signs receipts)", f.Name)
		return
	}
	if r.Claims["key"] != f.Name || r.Claims["size"] != size || r.Claims["etag"] != r.Facts["ETag"] || r.Claims["jti"] == "" {
		t.Errorf("%s: receipt claims %v", f.Name, r.Claims)
	}
	if !r.SignatureVerified || !strings.Contains(r.Signature, "checked") {
		t.Errorf("%s: receipt signature %q, want checked in the page", f.Name, r.Signature)
	}
}

// partsPut lists the part numbers PUT to path in phase (stored: answered
// 200 only), in order.
func partsPut(rs []demoRequest, path, phase string, stored bool) []int {
	var out []int
	for _, r := range rs {
		if r.To == "store" && r.Method == "PUT" && r.Part > 0 && r.Path == path && r.Phase == phase && (!stored || r.Status == 200) {
			out = append(out, r.Part)
		}
	}
	slices.Sort(out)
	return out
}

// calls2 lists the requests of method to ("store" or "presign") in phase
// whose path is path ("" any).
func calls2(rs []demoRequest, method, to, path, phase string) []demoRequest {
	var out []demoRequest
	for _, r := range rs {
		if r.Method == method && r.To == to && r.Phase == phase && (path == "" || r.Path == path || to == "store" && strings.HasSuffix(r.Path, path)) {
			out = append(out, r)
		}
	}
	return out
}

func demoRequests(rs []demoRequest) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("  " + r.Phase + " " + r.To + " " + r.Method + " " + r.Path)
		if r.Part > 0 {
			b.WriteString(" part " + strconv.Itoa(r.Part))
		}
		b.WriteString(" → " + strconv.Itoa(r.Status))
		if r.Failure != "" {
			b.WriteString(" (" + r.Failure + ")")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// browserDirAbs is browserDir, absolute: taken before any test runs, for
// presign dev's embedded store changes the process's directory.
var browserDirAbs, _ = filepath.Abs(browserDir)

// checkReceiptWithJose verifies a receipt from Node with the jose library
// against GET /.well-known/jwks.json, as an application's back end would,
// and checks that it names the object.
func checkReceiptWithJose(t *testing.T, node, api, key, receipt string) {
	t.Helper()
	cmd := exec.Command(node, "verify-receipt.mjs", api+"/.well-known/jwks.json", api, receipt)
	cmd.Dir = browserDirAbs
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("%s: jose does not verify the receipt: %v: %s", key, err, stderr.String())
		return
	}
	var v struct {
		Alg    string
		Claims map[string]any
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Alg != "EdDSA" || v.Claims["key"] != key {
		t.Errorf("%s: jose verified %s (%v)", key, out, err)
	}
	// The same receipt naming another object does not verify.
	parts := strings.Split(receipt, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte(`"key":"`+key), []byte(`"key":"x`+key), 1))
	forged := exec.Command(node, "verify-receipt.mjs", api+"/.well-known/jwks.json", api, strings.Join(parts, "."))
	forged.Dir = browserDirAbs
	if err := forged.Run(); err == nil {
		t.Errorf("%s: jose verifies a receipt changed to name another key", key)
	}
}
