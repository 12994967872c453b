package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"presign.dev/internal/s3test"
)

// uppyDir holds TestUppy's page, harness, driver and config, and one npm
// package per @uppy/aws-s3 line (v6, v5: package.json, package-lock.json
// and entry.js), which scripts/install-test-tools.sh installs and bundles
// into <line>/dist/uppy.js, writing the SHA-256 of package-lock.json and
// entry.js to <line>/dist/stamp.
const uppyDir = "testdata/uppy"

var uppyLines = []string{"v6", "v5"}

// uppyKey is the API key of testdata/uppy/presign.yaml (its sha256 is there).
const uppyKey = "uppy-test-key-0123456789abcdef"

const uppyMiB = 1 << 20

// The files' sizes: 5 MiB parts (both lines' default for files this small)
// and the rule's max_size of 12 MiB.
var uppySizes = map[string]int64{
	"small":  100 << 10,         // one POST form (/s3/params)
	"large":  11*uppyMiB + 3,    // 3 parts, the last 1 MiB + 3 bytes
	"pause":  11*uppyMiB + 5,    // 3 parts
	"abort":  11 * uppyMiB,      // 3 parts, cancelled after the first
	"reload": 11*uppyMiB + 7,    // 3 parts, the page reloaded after two
	"over":   12*uppyMiB + 1,    // 3 parts, one byte over the rule's max_size
	"multi":  5*uppyMiB - 1<<10, // files over this go up in parts
}

// uppyBundles fails (CI) or skips the test unless every line's bundle is
// built from its current lock file and entry.
func uppyBundles(t *testing.T, dir string) map[string][]byte {
	out := map[string][]byte{}
	for _, line := range uppyLines {
		d := filepath.Join(dir, line)
		h := sha256.New()
		for _, f := range []string{"package-lock.json", "entry.js"} {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
		stamp, err := os.ReadFile(filepath.Join(d, "dist", "stamp"))
		bundle, err2 := os.ReadFile(filepath.Join(d, "dist", "uppy.js"))
		if err != nil || err2 != nil || strings.TrimSpace(string(stamp)) != hex.EncodeToString(h.Sum(nil)) {
			msg := "the Uppy " + line + " bundle (" + filepath.Join(uppyDir, line, "dist") + ") is missing or older than its package-lock.json or entry.js; scripts/install-test-tools.sh builds it"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		out[line] = bundle
	}
	return out
}

type uppyRequest struct {
	To, Method, Path, Phase string
	Part                    int
	Status                  int
	Failure                 string
	Key                     string // of a created upload
	Body                    string // of a presign error
	Done                    bool
}

type uppyFileState struct {
	ID          string
	Size        int64
	IsPaused    bool
	IsGhost     bool
	IsRestored  bool
	S3Multipart *struct{ UploadID, Key string }
	Progress    int64
}

type uppyScenario struct {
	Error string
	File  struct {
		ID, SHA256 string
		Size       int64
	}
	Outcome struct {
		OK                              bool
		Key, Location, UploadURL, Error string
	}
	PausedFlag, ResumedFlag bool
	Before                  *uppyFileState
	Removed                 bool
	Saved                   struct {
		Blob        int64
		S3Multipart *struct{ UploadID, Key string }
	}
	Restored struct {
		Restored bool
		Files    []uppyFileState
	}
	Requests []uppyRequest
	MS       int64
}

type uppyLineResult struct {
	Versions  map[string]string
	Scenarios map[string]*uppyScenario
}

// TestUppy runs the published @uppy/aws-s3 — 6.3.1 with companionEndpoint
// (a path token from POST /v1/tokens) and 5.1.0 with endpoint and an
// Authorization header — in headless Chromium, on a page of its own origin,
// against `presign serve` with the Companion routes on and the embedded
// store (bucket CORS for that origin, ETag and Location exposed). Every
// scenario goes through Uppy's own API; what it left on the store is read
// back with an S3 client: the object's size, SHA-256 and content type, and
// that no multipart upload is left behind.
func TestUppy(t *testing.T) {
	browser, node := chromium(t)
	// Absolute paths: the embedded store changes the working directory.
	dir, err := filepath.Abs(uppyDir)
	if err != nil {
		t.Fatal(err)
	}
	bundles := uppyBundles(t, dir)
	page, err := os.ReadFile(filepath.Join(dir, "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	harness, err := os.ReadFile(filepath.Join(dir, "harness.js"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /harness.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(harness)
	})
	for _, line := range uppyLines {
		mux.HandleFunc("GET /"+line+"/{$}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(page)
		})
		mux.HandleFunc("GET /"+line+"/uppy.js", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(bundles[line])
		})
	}
	app := httptest.NewServer(mux)
	defer app.Close()

	store := startPageStore(t, "uploads", app.URL)

	c, logs, _ := testCLI(map[string]string{
		"PRESIGN_ADDR": "127.0.0.1:0", "PAGE_ORIGIN": app.URL,
		"S3_ENDPOINT": store.Endpoint, "S3_BUCKET": store.Bucket,
		"S3_ACCESS_KEY_ID": store.AccessKeyID, "S3_SECRET_ACCESS_KEY": store.SecretAccessKey,
		"UPLOAD_SECRET": "uppy-test-upload-secret-0123456789abcdefghijklmnop",
	})
	api, stop := start(t, c, "serve", "--config", filepath.Join(dir, "presign.yaml"))
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("presign's log:\n%s", logs)
		}
	}()

	// 6.x cannot send headers: the app's backend gets it a path token.
	companionEndpoint := uppyPathToken(t, api)
	if !strings.HasPrefix(companionEndpoint, api+"/companion/t/") {
		t.Fatalf("companion_endpoint %q", companionEndpoint)
	}
	cfg, err := json.Marshal(map[string]any{
		"page": app.URL, "api": api, "store": store.Endpoint, "sizes": uppySizes,
		"lines": []map[string]any{
			{"line": "v6", "init": map[string]any{"companionEndpoint": companionEndpoint, "multipartOver": uppySizes["multi"]}},
			{"line": "v5", "init": map[string]any{"endpoint": api + "/companion", "apiKey": uppyKey, "multipartOver": uppySizes["multi"]}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var results map[string]*uppyLineResult
	console, took := runDriver(t, node, browser, dir, 150*time.Second, &results, string(cfg))
	t.Logf("run.mjs took %v; browser console:\n%s", took, console)

	want := map[string]map[string]string{
		"v6": {"core": "6.3.1", "awsS3": "6.3.1", "goldenRetriever": "6.0.0"},
		"v5": {"core": "5.2.0", "awsS3": "5.1.0", "goldenRetriever": "5.2.1"},
	}
	for _, line := range uppyLines {
		res := results[line]
		if res == nil {
			t.Errorf("%s: no result", line)
			continue
		}
		t.Run(line, func(t *testing.T) {
			if !maps.Equal(res.Versions, want[line]) {
				t.Errorf("bundle versions %v, want %v", res.Versions, want[line])
			}
			for _, name := range []string{"small", "large", "pause", "abort", "reload", "over"} {
				sc := res.Scenarios[name]
				t.Run(name, func(t *testing.T) {
					if sc == nil {
						t.Fatal("no result")
					}
					t.Logf("%d ms, outcome %+v, requests:\n%s", sc.MS, sc.Outcome, requestList(sc.Requests))
					if sc.Error != "" {
						t.Fatalf("run.mjs: %s", sc.Error)
					}
					checkUppy(t, store, line, name, sc)
				})
			}
		})
	}
}

// uppyPathToken asks POST /v1/tokens for a path token as the API key's
// holder and returns its companion_endpoint.
func uppyPathToken(t *testing.T, api string) string {
	req, err := http.NewRequest("POST", api+"/v1/tokens", strings.NewReader(`{"expires_in":600}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+uppyKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Token             string `json:"token"`
		CompanionEndpoint string `json:"companion_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.Token == "" {
		t.Fatalf("POST /v1/tokens: %d %+v %v", resp.StatusCode, body, err)
	}
	return body.CompanionEndpoint
}

func requestList(rs []uppyRequest) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("  " + r.Phase + " " + r.To + " " + r.Method + " " + r.Path)
		if r.Part != 0 {
			b.WriteString(" part " + strconv.Itoa(r.Part))
		}
		switch {
		case r.Failure != "":
			b.WriteString(" → " + r.Failure)
		case r.Done:
			b.WriteString(" → " + strconv.Itoa(r.Status))
		default:
			b.WriteString(" → (unfinished)")
		}
		if r.Body != "" {
			b.WriteString(" " + r.Body)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Companion routes as the page's requests name them (the path token
// replaced by "…").
var (
	reParams   = regexp.MustCompile(`^/companion(/t/…)?/s3/params$`)
	reCreate   = regexp.MustCompile(`^/companion(/t/…)?/s3/multipart$`)
	reSign     = regexp.MustCompile(`^/companion(/t/…)?/s3/multipart/[^/]+/[0-9]+$`)
	reUpload   = regexp.MustCompile(`^/companion(/t/…)?/s3/multipart/[^/]+$`) // GET lists, DELETE aborts
	reComplete = regexp.MustCompile(`^/companion(/t/…)?/s3/multipart/[^/]+/complete$`)
)

// calls returns the page's requests to presign matching re and method (in
// phase, unless phase is "").
func calls(rs []uppyRequest, method string, re *regexp.Regexp, phase string) []uppyRequest {
	var out []uppyRequest
	for _, r := range rs {
		if r.To == "presign" && r.Method == method && re.MatchString(r.Path) && (phase == "" || r.Phase == phase) {
			out = append(out, r)
		}
	}
	return out
}

// partsStored returns the part numbers whose PUT the store answered 200,
// in order (in phase, unless phase is "").
func partsStored(rs []uppyRequest, phase string) []int {
	var out []int
	for _, r := range rs {
		if r.To == "store" && r.Method == "PUT" && r.Part != 0 && r.Status == 200 && (phase == "" || r.Phase == phase) {
			out = append(out, r.Part)
		}
	}
	slices.Sort(out)
	return out
}

// checkUppy checks one scenario of run.mjs: what the page's requests were
// (the Companion routes each line must use, the part PUTs the store
// answered, phase by phase) and what the store holds.
//
//	small   /s3/params, one POST form (201); the object's bytes and type
//	large   create, parts 1-3 (the last short), complete; the object
//	pause   part 1 stored, paused (nothing sent while paused), resumed: parts
//	        2 and 3 only, then complete; the object
//	abort   part 1 stored, then cancelled: DELETE 200, no object, no upload
//	reload  parts 1 and 2 stored, part 3 in flight, page reloaded; Golden
//	        Retriever restores the file with its blob and s3Multipart; after
//	        one part list only part 3 is sent; the object, at the first key
//	over    one byte over max_size: complete refused 413, the user told so;
//	        no object, no upload left
func checkUppy(t *testing.T, store *s3test.Server, line, name string, sc *uppyScenario) {
	size := uppySizes[name]
	if sc.File.Size != size || len(sc.File.SHA256) != 64 {
		t.Fatalf("the page's file: %+v, want %d bytes and a SHA-256", sc.File, size)
	}
	for _, r := range sc.Requests {
		if r.To == "other" {
			t.Errorf("a request to neither presign nor the store: %+v", r)
		}
		// 6.x cannot send headers, so it must be on the path-token routes,
		// and 5.x (with its Authorization header) on the others.
		if r.To == "presign" && strings.Contains(r.Path, "/t/…/") != (line == "v6") {
			t.Errorf("%s request %s %s: the wrong Companion routes for %s", r.To, r.Method, r.Path, line)
		}
	}
	keyRe := func(filename string) *regexp.Regexp {
		return regexp.MustCompile(`^uppy/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/` + regexp.QuoteMeta(filename) + `$`)
	}
	ok := func(filename string) string {
		t.Helper()
		if !sc.Outcome.OK {
			t.Fatalf("upload failed: %s", sc.Outcome.Error)
		}
		if !keyRe(filename).MatchString(sc.Outcome.Key) {
			t.Errorf("key %q, want uppy/<uuid>/%s (the rule's generate_key)", sc.Outcome.Key, filename)
		}
		return sc.Outcome.Key
	}
	multipart := func(phase string) {
		t.Helper()
		if n := len(calls(sc.Requests, "GET", reParams, "")); n != 0 {
			t.Errorf("%d calls to /s3/params for a multipart file", n)
		}
		if cs := calls(sc.Requests, "POST", reCreate, ""); len(cs) != 1 || cs[0].Status != 200 {
			t.Errorf("creates: %+v, want one 200", cs)
		}
		if cs := calls(sc.Requests, "POST", reComplete, ""); len(cs) != 1 || cs[0].Status != 200 || cs[0].Phase != phase {
			t.Errorf("completes: %+v, want one 200 in phase %s", cs, phase)
		}
	}

	switch name {
	case "small":
		key := ok("small_w__rld.txt") // "small wörld.txt", made safe
		if cs := calls(sc.Requests, "GET", reParams, ""); len(cs) != 1 || cs[0].Status != 200 {
			t.Errorf("/s3/params: %+v, want one 200", cs)
		}
		var posts []uppyRequest
		for _, r := range sc.Requests {
			if r.To == "store" {
				posts = append(posts, r)
			}
		}
		if len(posts) != 1 || posts[0].Method != "POST" || posts[0].Status != http.StatusCreated {
			t.Errorf("store requests %+v, want one POST answered 201", posts)
		}
		if n := len(calls(sc.Requests, "POST", reCreate, "")); n != 0 {
			t.Errorf("%d multipart creates for a small file", n)
		}
		// 6.x reports the form's URL and the key; 5.x the store's Location
		// header (exposed by the bucket CORS), whose key may have "/" as
		// %2F (S3 and Versity Gateway write it so).
		loc := sc.Outcome.Location
		if line == "v5" {
			loc = sc.Outcome.UploadURL
		}
		if u, err := url.PathUnescape(loc); err != nil || u != store.Endpoint+"/"+store.Bucket+"/"+key {
			t.Errorf("location %q, want the object's URL %s/%s/%s", loc, store.Endpoint, store.Bucket, key)
		}
		checkStored(t, store, key, sc, "text/plain")

	case "large":
		key := ok("large.mp4")
		multipart("start")
		if got := partsStored(sc.Requests, ""); !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("parts stored %v, want [1 2 3]", got)
		}
		if sc.Outcome.Location == "" {
			t.Errorf("no location in upload-success")
		}
		checkStored(t, store, key, sc, "video/mp4")

	case "pause":
		if !sc.PausedFlag || sc.ResumedFlag {
			t.Errorf("isPaused after pause %v, after resume %v", sc.PausedFlag, sc.ResumedFlag)
		}
		key := ok("pause.pdf")
		multipart("resumed")
		for _, r := range sc.Requests {
			if r.Phase == "paused" {
				t.Errorf("a request while paused: %+v", r)
			}
		}
		if got := partsStored(sc.Requests, "start"); !slices.Equal(got, []int{1}) {
			t.Errorf("parts stored before the pause %v, want [1]", got)
		}
		if got := partsStored(sc.Requests, "resumed"); !slices.Equal(got, []int{2, 3}) {
			t.Errorf("parts stored after the resume %v, want [2 3] (part 1 not sent again)", got)
		}
		checkStored(t, store, key, sc, "application/pdf")

	case "abort":
		if sc.Before == nil || sc.Before.S3Multipart == nil || !sc.Removed {
			t.Fatalf("before the cancel %+v, removed %v", sc.Before, sc.Removed)
		}
		key := sc.Before.S3Multipart.Key
		if !keyRe("abort.bin").MatchString(key) {
			t.Errorf("key %q", key)
		}
		if cs := calls(sc.Requests, "DELETE", reUpload, ""); len(cs) != 1 || cs[0].Status != 200 {
			t.Errorf("aborts: %+v, want one 200", cs)
		}
		if n := len(calls(sc.Requests, "POST", reComplete, "")); n != 0 {
			t.Errorf("%d completes of a cancelled upload", n)
		}
		if got := partsStored(sc.Requests, ""); !slices.Equal(got, []int{1}) {
			t.Errorf("parts stored %v, want [1]", got)
		}
		checkGone(t, store, key)

	case "reload":
		if sc.Before == nil || sc.Before.S3Multipart == nil || sc.Saved.S3Multipart == nil || *sc.Saved.S3Multipart != *sc.Before.S3Multipart {
			t.Fatalf("before the reload %+v, saved %+v", sc.Before, sc.Saved)
		}
		if !sc.Restored.Restored || len(sc.Restored.Files) != 1 {
			t.Fatalf("restored %+v", sc.Restored)
		}
		if f := sc.Restored.Files[0]; f.ID != sc.File.ID || f.IsGhost || f.S3Multipart == nil || *f.S3Multipart != *sc.Before.S3Multipart {
			t.Errorf("restored file %+v, want %s with its blob and s3Multipart %+v", f, sc.File.ID, *sc.Before.S3Multipart)
		}
		key := ok("reload.mov")
		if key != sc.Before.S3Multipart.Key {
			t.Errorf("completed as %s, created as %s", key, sc.Before.S3Multipart.Key)
		}
		multipart("reloaded")
		if got := partsStored(sc.Requests, "start"); !slices.Equal(got, []int{1, 2}) {
			t.Errorf("parts stored before the reload %v, want [1 2]", got)
		}
		if got := partsStored(sc.Requests, "reloaded"); !slices.Equal(got, []int{3}) {
			t.Errorf("parts stored after the reload %v, want [3] (parts 1 and 2 not sent again)", got)
		}
		if cs := calls(sc.Requests, "GET", reUpload, "reloaded"); len(cs) != 1 || cs[0].Status != 200 {
			t.Errorf("part lists after the reload: %+v, want one 200", cs)
		}
		checkStored(t, store, key, sc, "video/quicktime")

	case "over":
		if sc.Outcome.OK {
			t.Fatalf("an upload over max_size succeeded: %+v", sc.Outcome)
		}
		cs := calls(sc.Requests, "POST", reCreate, "")
		if len(cs) != 1 || cs[0].Status != 200 || !keyRe("over.bin").MatchString(cs[0].Key) {
			t.Fatalf("creates: %+v", cs)
		}
		key := cs[0].Key
		if got := partsStored(sc.Requests, ""); !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("parts stored %v, want [1 2 3]", got)
		}
		done := calls(sc.Requests, "POST", reComplete, "")
		if len(done) != 1 || done[0].Status != http.StatusRequestEntityTooLarge {
			t.Errorf("completes: %+v, want one 413", done)
		}
		// What each line shows the user: 6.x the status text only, 5.x
		// presign's message (a 4xx with "message").
		wantMsg := "Companion request failed"
		if line == "v5" {
			wantMsg = "above the 12582912 allowed"
		}
		if !strings.Contains(sc.Outcome.Error, wantMsg) {
			t.Errorf("upload-error %q, want it to mention %q", sc.Outcome.Error, wantMsg)
		}
		checkGone(t, store, key)
	}
}

// checkStored reads key back from the store: size, SHA-256 and content type
// must be the page's file's.
func checkStored(t *testing.T, store *s3test.Server, key string, sc *uppyScenario, contentType string) {
	t.Helper()
	ct, size, ok := store.HeadObject(t, key)
	if !ok {
		t.Fatalf("no object %s on the store", key)
	}
	data, _ := store.GetObject(t, key)
	sum := sha256.Sum256(data)
	if size != sc.File.Size || int64(len(data)) != sc.File.Size || hex.EncodeToString(sum[:]) != sc.File.SHA256 || ct != contentType {
		t.Errorf("object %s: %d bytes (read %d), SHA-256 %x, %s; want the page's %d bytes, %s, %s",
			key, size, len(data), sum, ct, sc.File.Size, sc.File.SHA256, contentType)
	}
	checkNoUploads(t, store, key)
}

// checkGone checks that the store has neither an object nor a multipart
// upload at key.
func checkGone(t *testing.T, store *s3test.Server, key string) {
	t.Helper()
	if _, ok := store.GetObject(t, key); ok {
		t.Errorf("an object at %s", key)
	}
	checkNoUploads(t, store, key)
}

func checkNoUploads(t *testing.T, store *s3test.Server, key string) {
	t.Helper()
	out, err := store.Client().ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{
		Bucket: aws.String(store.Bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("ListMultipartUploads %s: %v", key, err)
	}
	for _, u := range out.Uploads {
		t.Errorf("a multipart upload left at %s (upload ID %s)", aws.ToString(u.Key), aws.ToString(u.UploadId))
	}
}
