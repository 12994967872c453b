package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"presign.dev/internal/config"
	"presign.dev/internal/s3test"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

const testOrigin = "http://localhost:5173"

// setup is how a test configures presign for a store.
type setup struct {
	bucket   string // "" is the server's
	endpoint string // "" is the server's
	secret   string // "" is the server's
	provider string // "" is none: detected (other)
	// file is the configuration's tail after the backend (auth, cors,
	// uploads, rules); "" is webApp.
	file string
}

// webApp is a web app's configuration: upload secrets (multipart), a rule
// with overwrite: false, post forms, CORS for testOrigin.
var webApp = `auth:
  api_keys:
    - {name: app, sha256: ` + strings.Repeat("a", 64) + `}
cors:
  origins: [` + testOrigin + `]
uploads:
  secrets:
    - {id: k1, secret: "${env:UPLOAD_SECRET}"}
rules:
  - name: uploads
    who: {authenticated: true}
    ops: [put, multipart, get, head, delete, list]
    keys: ["**"]
    overwrite: false
  - name: forms
    who: {authenticated: true}
    ops: [post]
    keys: ["**"]
`

// testConfig is the presign configuration of su for srv, read as presign
// reads its file.
func testConfig(t *testing.T, srv *s3test.Server, su setup) config.Config {
	t.Helper()
	if su.bucket == "" {
		su.bucket = srv.Bucket
	}
	if su.secret == "" {
		su.secret = srv.SecretAccessKey
	}
	if su.file == "" {
		su.file = webApp
	}
	if su.endpoint == "" {
		su.endpoint = srv.Endpoint
	}
	env := map[string]string{"S3_SECRET": su.secret, "UPLOAD_SECRET": strings.Repeat("u", 40)}
	file := fmt.Sprintf(`backends:
  - name: store
    endpoint: %s
    region: %s
    bucket: %s
    path_style: true
    access_key_id: %s
    secret_access_key: ${env:S3_SECRET}
`, su.endpoint, srv.Region, su.bucket, srv.AccessKeyID) + su.file
	if su.provider != "" {
		file = strings.Replace(file, "    path_style: true\n", "    path_style: true\n    provider: "+su.provider+"\n", 1)
	}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "doctor.yaml", []byte(file))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// run runs the doctor and logs its text report.
func run(t *testing.T, cfg config.Config, o Options) Report {
	t.Helper()
	r, err := Run(t.Context(), cfg, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", buf.String())
	return r
}

// results maps each check of the only backend to its result.
func results(t *testing.T, r Report) map[string]Result {
	t.Helper()
	if len(r.Backends) != 1 {
		t.Fatalf("%d backends in the report, want 1", len(r.Backends))
	}
	m := map[string]Result{}
	for _, c := range r.Backends[0].Checks {
		m[c.Name] = c.Result
	}
	return m
}

// check returns the check called name of the only backend.
func check(t *testing.T, r Report, name string) Check {
	t.Helper()
	for _, c := range r.Backends[0].Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in the report", name)
	return Check{}
}

// all returns every check named with result res.
func all(res Result, names ...string) map[string]Result {
	m := map[string]Result{}
	for _, n := range names {
		m[n] = res
	}
	return m
}

// with returns m with the results of more set.
func with(m map[string]Result, more map[string]Result) map[string]Result {
	for k, v := range more {
		m[k] = v
	}
	return m
}

var everyCheck = []string{CheckCredentials, CheckClock, CheckBucket, CheckProvider, CheckCORS, CheckCORSExpose, CheckPost,
	CheckConditionalWrite, CheckSourceMtime, CheckForceDelete, CheckCopySource}

// expectClean fails the test unless the bucket holds nothing under
// ProbePrefix: every probe object was deleted.
func expectClean(t *testing.T, srv *s3test.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := srv.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket), Prefix: aws.String(ProbePrefix)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	for _, o := range out.Contents {
		t.Errorf("left in the bucket: %s", aws.ToString(o.Key))
	}
}

// TestHealthyStore: Versity Gateway, with the CORS rule a web app needs,
// passes every check; every probe object is gone afterwards.
func TestHealthyStore(t *testing.T) {
	srv := s3test.StartVersity(t)
	r := run(t, testConfig(t, srv, setup{}), Options{})
	if diff := cmp.Diff(all(OK, everyCheck...), results(t, r)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if r.Failed() || r.Origin != testOrigin {
		t.Errorf("Failed() %v, origin %q", r.Failed(), r.Origin)
	}
	expectClean(t, srv)
}

// TestMinIOProvider: the same MinIO as provider minio passes the unsigned
// header checks: its URLs sign the headers MinIO acts on (each attack
// breaks the signature), and it signs no POST forms; root credentials
// still let uploads carry tags and replica marks.
func TestMinIOProvider(t *testing.T) {
	srv := s3test.StartMinIO(t)
	r := run(t, testConfig(t, srv, setup{provider: "minio"}), Options{})
	// Root credentials: tags and replica marks stay open (the policy's).
	if diff := cmp.Diff(with(all(OK, everyCheck...), all(Fail, CheckMinIOPolicy)), results(t, r)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if c := check(t, r, CheckPost); !strings.Contains(c.Seen, "not probed") {
		t.Errorf("post: %+v", c)
	}
	expectClean(t, srv)
}

// TestMinIOUnsignedHeaders: MinIO with root credentials acts on
// x-minio-force-delete, X-Minio-Source-Mtime and x-amz-copy-source that no
// grant signed: each is a failure with its fix. Its CORS is server-wide
// (MINIO_API_CORS_ALLOW_ORIGIN=* here): it has no bucket CORS API, admits
// any origin and exposes ETag, so CORS passes.
func TestMinIOUnsignedHeaders(t *testing.T) {
	srv := s3test.StartMinIO(t)
	r := run(t, testConfig(t, srv, setup{}), Options{})
	want := with(all(OK, everyCheck...), all(Fail, CheckProvider, CheckSourceMtime, CheckForceDelete, CheckCopySource, CheckMinIOPolicy))
	if diff := cmp.Diff(want, results(t, r)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, name := range []string{CheckProvider, CheckSourceMtime, CheckForceDelete, CheckCopySource} {
		if c := check(t, r, name); !strings.Contains(c.Fix, "docs/minio.md") || !strings.Contains(c.Fix, "minio") {
			t.Errorf("%s: fix %q does not point to docs/minio.md", name, c.Fix)
		}
	}
	if !strings.Contains(check(t, r, CheckForceDelete).Seen, "is gone") {
		t.Errorf("force delete: %+v", check(t, r, CheckForceDelete))
	}
	if !r.Failed() {
		t.Error("Failed() is false")
	}
	expectClean(t, srv)

	// What MinIO answers for a bucket's CORS: no such API.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := srv.Client().PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(srv.Bucket),
		CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{AllowedOrigins: []string{"https://other.example"}, AllowedMethods: []string{"GET"}}}}})
	if err == nil || !strings.Contains(err.Error(), "NotImplemented") {
		t.Errorf("MinIO PutBucketCors: %v, want NotImplemented", err)
	}
	cfg := testConfig(t, srv, setup{})
	p, err := newProber(cfg, cfg.Backends[0].WithDefaults(), testOrigin, Options{Now: time.Now, HTTPClient: newHTTPClient(), Timeout: DefaultTimeout}, "x")
	if err != nil {
		t.Fatal(err)
	}
	p.access(ctx)
	if desc, noAPI := p.bucketCORS(ctx); !noAPI {
		t.Errorf("MinIO GetBucketCors: %s, want no API", desc)
	} else {
		t.Logf("MinIO: %s", desc)
	}
}

// webCORS returns a bucket CORS rule like the one a web app needs, which
// change alters.
func webCORS(change func(*types.CORSRule)) *types.CORSConfiguration {
	r := types.CORSRule{
		AllowedOrigins: []string{testOrigin},
		AllowedMethods: []string{"GET", "PUT", "POST", "DELETE", "HEAD"},
		AllowedHeaders: []string{"*"},
		ExposeHeaders:  []string{"ETag"},
	}
	change(&r)
	return &types.CORSConfiguration{CORSRules: []types.CORSRule{r}}
}

// awsExpose returns the URL of a proxy to srv that answers as AWS S3 does
// where Versity Gateway does not: Access-Control-Expose-Headers holds only
// what the bucket's CORS rule exposes (Versity adds ETag to any rule's).
// Used with a rule that exposes no ETag. Requests pass unchanged, the Host
// the client signed included.
func awsExpose(t *testing.T, srv *s3test.Server) string {
	t.Helper()
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		var kept []string
		for _, v := range resp.Header.Values("Access-Control-Expose-Headers") {
			for _, h := range strings.Split(v, ",") {
				if h = strings.TrimSpace(h); !strings.EqualFold(h, "ETag") {
					kept = append(kept, h)
				}
			}
		}
		if len(kept) > 0 {
			resp.Header.Set("Access-Control-Expose-Headers", strings.Join(kept, ", "))
		}
		return nil
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	return ps.URL
}

// TestBrokenCORS: bucket CORS that a browser upload from the origin cannot
// pass is reported, with a put-bucket-cors fix for the origin.
func TestBrokenCORS(t *testing.T) {
	srv := s3test.StartVersity(t)
	for _, tt := range []struct {
		name    string
		cors    *types.CORSConfiguration // nil: none
		want    map[string]Result        // of the CORS checks
		seen    string                   // in the failing check's Seen
		failing string
		aws     bool // through awsExpose
	}{
		{"ETag not exposed, as AWS S3 answers", webCORS(func(r *types.CORSRule) { r.ExposeHeaders = []string{"x-amz-request-id"} }),
			map[string]Result{CheckCORS: OK, CheckCORSExpose: Fail}, `a PUT answer exposes "x-amz-request-id`, CheckCORSExpose, true},
		// Versity Gateway adds ETag to Access-Control-Expose-Headers
		// whatever the rule says, so a browser can read it there.
		{"ETag not in the rule, Versity Gateway", webCORS(func(r *types.CORSRule) { r.ExposeHeaders = []string{"x-amz-request-id"} }),
			map[string]Result{CheckCORS: OK, CheckCORSExpose: OK}, "a PUT answer allows " + testOrigin + " and exposes ETag", CheckCORSExpose, false},
		{"origin not allowed", webCORS(func(r *types.CORSRule) { r.AllowedOrigins = []string{"https://elsewhere.example"} }),
			map[string]Result{CheckCORS: Fail, CheckCORSExpose: Fail}, "origins [https://elsewhere.example]", CheckCORS, false},
		{"PUT not allowed", webCORS(func(r *types.CORSRule) { r.AllowedMethods = []string{"GET", "HEAD"} }),
			map[string]Result{CheckCORS: Fail, CheckCORSExpose: Fail}, "a preflight for PUT", CheckCORS, false},
		{"If-None-Match not allowed", webCORS(func(r *types.CORSRule) {
			r.AllowedHeaders = []string{"content-type", "x-amz-meta-presign-upload", "content-md5", "x-amz-checksum-sha256"}
		}), map[string]Result{CheckCORS: Fail, CheckCORSExpose: OK}, "if-none-match", CheckCORS, false},
		{"checksum headers not allowed", webCORS(func(r *types.CORSRule) {
			r.AllowedHeaders = []string{"content-type", "if-none-match", "x-amz-meta-presign-upload"}
		}), map[string]Result{CheckCORS: Warn, CheckCORSExpose: OK}, "content-md5, x-amz-checksum-sha256 is refused", CheckCORS, false},
		{"no CORS configuration", nil,
			map[string]Result{CheckCORS: Fail, CheckCORSExpose: Fail}, "no CORS configuration", CheckCORS, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			var err error
			if tt.cors == nil {
				_, err = srv.Client().DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String(srv.Bucket)})
			} else {
				_, err = srv.Client().PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(srv.Bucket), CORSConfiguration: tt.cors})
			}
			if err != nil {
				t.Fatalf("setting the bucket's CORS: %v", err)
			}
			su := setup{}
			if tt.aws {
				su.endpoint = awsExpose(t, srv)
			}
			r := run(t, testConfig(t, srv, su), Options{})
			got := results(t, r)
			want := with(all(OK, everyCheck...), tt.want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if e := check(t, r, CheckCORSExpose); tt.failing == CheckCORS && e.Result != OK && e.Fix != "the fix of cors above" {
				t.Errorf("cors-expose: fix %q, want a pointer to the cors fix", e.Fix)
			}
			c := check(t, r, tt.failing)
			if !strings.Contains(c.Seen, tt.seen) {
				t.Errorf("%s: seen %q lacks %q", c.Name, c.Seen, tt.seen)
			}
			if c.Result == OK {
				return
			}
			if !strings.Contains(c.Fix, "aws s3api put-bucket-cors --endpoint-url "+testConfig(t, srv, su).Backends[0].Endpoint+" --bucket "+srv.Bucket) ||
				!strings.Contains(c.Fix, `"AllowedOrigins":["`+testOrigin+`"]`) || !strings.Contains(c.Fix, `"ExposeHeaders":["ETag","Location"]`) {
				t.Errorf("%s: fix %q", c.Name, c.Fix)
			}
			expectClean(t, srv)
		})
	}
}

// TestRefused: a wrong secret key and a missing bucket fail with their
// fixes, against both servers, and nothing after them is checked; the
// secret never shows.
func TestRefused(t *testing.T) {
	for _, name := range s3test.Names {
		t.Run(name, func(t *testing.T) {
			srv := s3test.Start(t, name)
			skipped := all(Skip, CheckCORS, CheckCORSExpose, CheckPost, CheckConditionalWrite, CheckSourceMtime, CheckForceDelete, CheckCopySource)
			// MinIO answers Server: MinIO to the refused request too, and
			// the test configuration names no provider.
			skipped[CheckProvider] = map[string]Result{"minio": Fail, "versitygw": OK}[name]
			for _, tt := range []struct {
				name  string
				su    setup
				want  map[string]Result
				check string // the failing check
				seen  string // in its Seen
				fix   string // in its Fix
			}{
				{"wrong secret", setup{secret: "wrong-secret-key-never-shown-0123456789"},
					with(map[string]Result{CheckCredentials: Fail, CheckClock: OK, CheckBucket: Skip}, skipped),
					CheckCredentials, "SignatureDoesNotMatch", "secret_access_key"},
				{"missing bucket", setup{bucket: "presign-doctor-no-such-bucket"},
					with(map[string]Result{CheckCredentials: Skip, CheckClock: OK, CheckBucket: Fail}, skipped),
					CheckBucket, "NoSuchBucket", `create bucket "presign-doctor-no-such-bucket"`},
			} {
				t.Run(tt.name, func(t *testing.T) {
					r := run(t, testConfig(t, srv, tt.su), Options{})
					if diff := cmp.Diff(tt.want, results(t, r)); diff != "" {
						t.Errorf("results (-want +got):\n%s", diff)
					}
					c := check(t, r, tt.check)
					if !strings.Contains(c.Seen, tt.seen) || !strings.Contains(c.Fix, tt.fix) {
						t.Errorf("%s: %+v, want %q seen and %q in the fix", tt.check, c, tt.seen, tt.fix)
					}
					var text, js bytes.Buffer
					if err := r.WriteText(&text); err != nil {
						t.Fatal(err)
					}
					if err := r.WriteJSON(&js); err != nil {
						t.Fatal(err)
					}
					for _, out := range []string{text.String(), js.String()} {
						for _, secret := range []string{"wrong-secret-key-never-shown", srv.SecretAccessKey, "X-Amz-Signature", "UPLOAD_SECRET", strings.Repeat("u", 40)} {
							if strings.Contains(out, secret) {
								t.Errorf("the report shows %q:\n%s", secret, out)
							}
						}
					}
				})
			}
			expectClean(t, srv)
		})
	}
}

// TestClockSkew: with this machine's clock off by the injected offset, the
// clock check says so (and the store may refuse the signature itself).
func TestClockSkew(t *testing.T) {
	for _, name := range s3test.Names {
		t.Run(name, func(t *testing.T) {
			srv := s3test.Start(t, name)
			seen := regexp.MustCompile(`this machine's clock is ([0-9hms]+) (ahead of|behind) the store's`)
			for _, tt := range []struct {
				offset time.Duration
				want   Result
			}{
				{20 * time.Minute, Fail},
				{10 * time.Minute, Fail},
				{-7 * time.Minute, Fail},
				{2 * time.Minute, Warn},
				{-45 * time.Second, Warn},
				{10 * time.Second, OK},
			} {
				t.Run(tt.offset.String(), func(t *testing.T) {
					r := run(t, testConfig(t, srv, setup{}), Options{Now: func() time.Time { return time.Now().Add(tt.offset) }})
					c := check(t, r, CheckClock)
					m := seen.FindStringSubmatch(c.Seen)
					if c.Result != tt.want || m == nil {
						t.Fatalf("clock: %+v, want %s saying how far off", c, tt.want)
					}
					// Date has whole seconds: the estimate is within a
					// second and a half of the offset.
					d, err := time.ParseDuration(m[1])
					if m[2] == "behind" {
						d = -d
					}
					if err != nil || (d-tt.offset).Abs() > 1500*time.Millisecond {
						t.Errorf("clock: %q, want about %s", c.Seen, tt.offset)
					}
					if tt.want != OK && !strings.Contains(c.Fix, "NTP") {
						t.Errorf("clock fix: %q", c.Fix)
					}
					if cr := check(t, r, CheckCredentials); cr.Result == Fail {
						t.Logf("%s refuses a signature %s off: %s", name, tt.offset, cr.Seen)
					}
				})
			}
			expectClean(t, srv)
		})
	}
}

// TestClockEstimate: the skew estimate takes the middle of the request and
// the half second Date drops.
func TestClockEstimate(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		date, sent, received time.Time
		skew, margin         time.Duration
	}{
		{base, base.Add(400 * time.Millisecond), base.Add(600 * time.Millisecond), 0, 600 * time.Millisecond},
		{base, base.Add(10 * time.Minute), base.Add(10*time.Minute + 2*time.Second), 10*time.Minute + 500*time.Millisecond, 1500 * time.Millisecond},
		{base, base.Add(-time.Minute), base.Add(-time.Minute), -time.Minute - 500*time.Millisecond, 500 * time.Millisecond},
		{base, base.Add(time.Second), base, 500 * time.Millisecond, 500 * time.Millisecond}, // a clock that went back
	} {
		skew, margin := clockSkew(tt.date, tt.sent, tt.received)
		if skew != tt.skew || margin != tt.margin {
			t.Errorf("clockSkew(%v, %v, %v) = %v ± %v, want %v ± %v", tt.date, tt.sent, tt.received, skew, margin, tt.skew, tt.margin)
		}
	}
}

// TestTimeout: a store that accepts the connection and never answers is a
// failed credentials check within the probe timeout.
func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn // never answered; closed with the listener
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	srv := &s3test.Server{Endpoint: "http://" + ln.Addr().String(), Region: "us-east-1", Bucket: "silent-bucket",
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret-example-key"}
	began := time.Now()
	r := run(t, testConfig(t, srv, setup{}), Options{Timeout: 300 * time.Millisecond})
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("took %v with a 300ms timeout", took)
	}
	c := check(t, r, CheckCredentials)
	if c.Result != Fail || !strings.Contains(c.Seen, "no answer within 300ms") || !strings.Contains(c.Fix, "endpoint") {
		t.Errorf("credentials: %+v", c)
	}
	if got := check(t, r, CheckClock).Result; got != Skip {
		t.Errorf("clock: %s, want skip", got)
	}
}

// TestInputs: the backend and origin Run is given, and the origin it takes
// from the configuration.
func TestInputs(t *testing.T) {
	srv := &s3test.Server{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", Bucket: "bucket", AccessKeyID: "AKID", SecretAccessKey: "secret"}
	cfg := testConfig(t, srv, setup{})
	if _, err := Run(t.Context(), cfg, Options{Backend: "nope"}); err == nil || !strings.Contains(err.Error(), `no backend is named "nope" (the configuration has "store")`) {
		t.Errorf("unknown backend: %v", err)
	}
	for _, o := range []string{"*", "localhost:5173", "https://app.example/path", "https://*.example.com", "https://u:p@app.example"} {
		if _, err := Run(t.Context(), cfg, Options{Origin: o}); err == nil || !strings.Contains(err.Error(), "is not an origin") {
			t.Errorf("--origin %q: %v", o, err)
		}
	}
	for _, tt := range []struct {
		flag       string
		configured []string
		want       string
	}{
		{"", []string{"http://localhost:5173"}, "http://localhost:5173"},
		{"https://app.example/", []string{"http://localhost:5173"}, "https://app.example"},
		{"", []string{"*"}, ""},
		{"", []string{"http://localhost:*", "https://app.example"}, ""},
		{"", nil, ""},
	} {
		got, err := chooseOrigin(tt.flag, tt.configured)
		if err != nil || got != tt.want {
			t.Errorf("chooseOrigin(%q, %q) = %q, %v; want %q", tt.flag, tt.configured, got, err, tt.want)
		}
	}
}

// TestNoOrigin: without an origin the CORS checks warn, naming --origin;
// the rest is checked.
func TestNoOrigin(t *testing.T) {
	srv := s3test.StartVersity(t)
	file := strings.Replace(webApp, "origins: ["+testOrigin+"]", `origins: ["*"]`, 1)
	r := run(t, testConfig(t, srv, setup{file: file}), Options{})
	want := with(all(OK, everyCheck...), all(Warn, CheckCORS, CheckCORSExpose))
	if diff := cmp.Diff(want, results(t, r)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if c := check(t, r, CheckCORS); !strings.Contains(c.Fix, "--origin") {
		t.Errorf("cors: %+v", c)
	}
	if r.Failed() {
		t.Error("Failed() with warnings only")
	}
}

// TestNeeds: what a configuration asks of its store decides whether a
// missing feature fails or warns.
func TestNeeds(t *testing.T) {
	no := false
	backend := presign.Backend{Name: "b"}
	uploads := presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "k1", Secret: []byte(strings.Repeat("u", 40))}}}
	type summary struct {
		Writes, Get, Post, Delete, Multipart, NoOverwrite, Stamp bool
	}
	for _, tt := range []struct {
		name string
		cfg  config.Config
		b    presign.Backend
		want summary
	}{
		{"environment only, no uploads", config.Config{}, backend, summary{Writes: true, Get: true, Post: true, Delete: true}},
		{"environment only, uploads", config.Config{Uploads: uploads}, backend, summary{true, true, true, true, true, false, true}},
		{"open mode", config.Config{AuthNone: true}, backend, summary{Writes: true, Get: true, Post: true}},
		{"post: false", config.Config{}, presign.Backend{Name: "b", NoPost: true}, summary{Writes: true, Get: true, Delete: true}},
		{"rules", config.Config{Uploads: uploads, Rules: []policy.Rule{
			{Name: "r1", Ops: []presign.Op{presign.OpGet}},
			{Name: "r2", Ops: []presign.Op{presign.OpPut, presign.OpMultipart}, Overwrite: &no},
			{Name: "other", Ops: []presign.Op{presign.OpDelete, presign.OpPost}, Backend: "other"},
		}}, backend, summary{Writes: true, Get: true, Multipart: true, NoOverwrite: true, Stamp: true}},
		{"read only", config.Config{Rules: []policy.Rule{{Name: "r", Ops: []presign.Op{presign.OpGet, presign.OpList}}}}, backend, summary{Get: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := needsOf(tt.cfg, tt.b)
			got := summary{n.writes(), n.ops[presign.OpGet], n.ops[presign.OpPost], n.ops[presign.OpDelete], n.ops[presign.OpMultipart], n.noOverwrite, n.stamp}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("needs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReport: the text and JSON forms of a report.
func TestReport(t *testing.T) {
	r := Report{Origin: testOrigin, Backends: []BackendReport{{Backend: "b", Endpoint: "http://s3.local", Bucket: "bk", Checks: []Check{
		{Name: CheckCredentials, Result: OK, Seen: "fine"},
		{Name: CheckCORS, Result: Fail, Seen: "refused\x1b[31m red\nnext", Fix: "do this"},
		{Name: CheckPost, Result: Skip, Seen: "not checked"},
	}}}}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := `presign doctor: bucket CORS checked for origin http://localhost:5173

backend "b": http://s3.local, bucket bk
  ok    credentials            fine
  fail  cors                   refused [31m red next
                               fix: do this
  skip  post                   not checked

1 ok, 0 warn, 1 fail, 1 skipped
`
	if diff := cmp.Diff(want, text.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Origin   string
		Failed   bool
		Backends []BackendReport
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if !got.Failed || got.Origin != testOrigin || cmp.Diff(r.Backends, got.Backends) != "" {
		t.Errorf("JSON:\n%s", js.String())
	}
}

// TestOtherKinds: a backend that is not S3 is not probed (the probes speak
// S3), and the report says so with a warning, not a pass.
func TestOtherKinds(t *testing.T) {
	file := `backends:
  - name: gcs
    kind: gcs
    bucket: photos-bucket
    access_key_id: GOOG1EXAMPLEACCESSID
    secret_access_key: ${env:HMAC_SECRET}
`
	env := map[string]string{"HMAC_SECRET": "an-hmac-secret-0123456789", "PRESIGN_API_KEYS": "a-key-0123456789abcdef"}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "doctor.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, cfg, Options{})
	if diff := cmp.Diff(map[string]Result{CheckProvider: Warn}, results(t, r)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if r.Failed() || !strings.Contains(check(t, r, CheckProvider).Seen, "kind gcs") {
		t.Errorf("report: %+v", r)
	}
}

// sourceOf is a presign.CredentialSource of fixed credentials that expire
// in an hour.
type sourceOf sigv4.Credentials

func (s sourceOf) Credentials(context.Context) (sigv4.Credentials, time.Time, error) {
	return sigv4.Credentials(s), time.Now().Add(time.Hour), nil
}

// TestCredentialSource: a backend whose credentials come from a source is
// probed with them, the bucket's CORS read included (Versity Gateway keeps
// bucket CORS).
func TestCredentialSource(t *testing.T) {
	srv := s3test.StartVersity(t)
	cfg := testConfig(t, srv, setup{})
	b := &cfg.Backends[0]
	b.CredentialSource, b.Credentials = sourceOf(b.Credentials), sigv4.Credentials{}
	r := run(t, cfg, Options{})
	if diff := cmp.Diff(all(OK, everyCheck...), results(t, r)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if c := check(t, r, CheckCORS); !strings.Contains(c.Seen, testOrigin) {
		t.Errorf("cors: %+v", c)
	}
	expectClean(t, srv)
}

// TestMinIORecommended: MinIO as docs/minio.md recommends — provider minio,
// and credentials whose policy is the document's (here an STS session of
// MinIO's own, through credentials: {source: assume_role}) — passes every
// check.
func TestMinIORecommended(t *testing.T) {
	srv := s3test.StartMinIO(t)
	policy := strings.Join(strings.Fields(s3test.MinIOPolicy(t, srv.Bucket)), " ")
	src := fmt.Sprintf(`backends:
  - name: store
    endpoint: %s
    region: %s
    bucket: %s
    path_style: true
    provider: minio
    access_key_id: %s
    secret_access_key: ${env:S3_SECRET}
    credentials:
      source: assume_role
      role_arn: arn:aws:iam::123456789012:role/presign
      session_policy: '%s'
      sts_endpoint: %s
`, srv.Endpoint, srv.Region, srv.Bucket, srv.AccessKeyID, policy, srv.Endpoint) + webApp
	env := map[string]string{"S3_SECRET": srv.SecretAccessKey, "UPLOAD_SECRET": strings.Repeat("u", 40)}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "doctor.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// MinIO serves S3 before its IAM is loaded: until then STS refuses.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for {
		if _, _, err := cfg.Backends[0].CredentialSource.Credentials(t.Context()); err == nil {
			break
		} else {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("MinIO's STS: %v", err)
			}
		}
	}
	r := run(t, cfg, Options{})
	if diff := cmp.Diff(all(OK, append(everyCheck, CheckMinIOPolicy)...), results(t, r)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	expectClean(t, srv)
}
