package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"presign.dev/internal/conformance"
	"presign.dev/internal/s3test"
)

// bootstrap is the real binary under test, built once by TestMain with the
// deployment's flags.
var bootstrap string

// bootstrapTags adds build tags to the bootstrap under test (not to the
// hello-world floor): storeprobe or sdkprobe measure what an S3 client
// costs the function (probe_store.go, probe_sdk.go; docs/benchmarks.md).
var bootstrapTags = flag.String("bootstrap-tags", "", "extra build tags for the bootstrap under test, e.g. storeprobe")

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "presign-lambda-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bootstrap = filepath.Join(dir, "bootstrap")
	if err := goBuild(bootstrap, "presign.dev/cmd/presign-lambda", *bootstrapTags); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// start runs the bootstrap with env (plus Lambda's own) against a fresh
// fake Runtime API; both stop when t ends, the process by its PID.
func start(t *testing.T, env map[string]string) (*fakeRuntime, *proc) {
	t.Helper()
	f := newFakeRuntime()
	t.Cleanup(f.Close)
	p, err := startProc(bootstrap, merge(lambdaEnv(f.Addr()), env))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("bootstrap output:\n%s", p.out.String())
		}
	})
	return f, p
}

// TestConformanceFunctionURL: the shared HTTP table through the real
// bootstrap as a Function URL invokes it (cookie header and cookies array;
// half the bodies base64-encoded, binary ones always).
func TestConformanceFunctionURL(t *testing.T) {
	f, p := start(t, conformance.Env)
	s := functionURL
	s.forceB64 = alternate()
	conformance.Run(t, "https://abc.lambda-url.us-east-1.on.aws", doer(f, p, s))
	if t.Failed() {
		return
	}
	select {
	case <-p.exited:
		t.Fatalf("the bootstrap exited: %v", p.err)
	default: // every case on one warm process
	}
}

// TestConformanceHTTPAPIStage: the same table as an HTTP API with the named
// stage "prod" sends it: rawPath starts with /prod, and cookies come only
// in the cookies array.
func TestConformanceHTTPAPIStage(t *testing.T) {
	f, p := start(t, conformance.Env)
	s := httpAPIProd
	s.forceB64 = alternate()
	do := doer(f, p, s)
	conformance.Run(t, "https://api1.execute-api.us-east-1.amazonaws.com/prod", func(req *http.Request) (*http.Response, error) {
		req.AddCookie(&http.Cookie{Name: "session", Value: "abc"})
		req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
		return do(req)
	})
}

// TestEventShapes: what the conformance table does not show: HEAD, the raw
// query reaching the signer unchanged, the request ID header, and the
// response's JSON shape.
func TestEventShapes(t *testing.T) {
	f, p := start(t, conformance.Env)
	for _, s := range []shape{functionURL, httpAPIProd} {
		base := "https://abc.lambda-url.us-east-1.on.aws"
		if s.stage != "" {
			base = "https://api1.execute-api.us-east-1.amazonaws.com/prod"
		}
		t.Run(s.name, func(t *testing.T) {
			do := doer(f, p, s)
			req, _ := http.NewRequest("GET", base+"/presign?key=a%2Bb%20c+d.txt&method=GET", nil)
			req.Header.Set("Authorization", "Bearer "+conformance.APIKey)
			resp, err := do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			// %2B stays a plus sign, %20 and + are spaces: the key is "a+b c d.txt".
			if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "http://127.0.0.1:9000/conformance/a%2Bb%20c%20d.txt?") {
				t.Errorf("%d %s", resp.StatusCode, b)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Errorf("headers %v", resp.Header)
			}

			req, _ = http.NewRequest("HEAD", base+"/healthz", nil)
			resp, err = do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			// A GET route answers HEAD; the adapter sends no body with it.
			if resp.StatusCode != 200 || len(b) != 0 {
				t.Errorf("HEAD /healthz: %d %q", resp.StatusCode, b)
			}
		})
	}
}

// TestS3RoundTrip: a PUT URL obtained through the Lambda path uploads to a
// real S3 server, and a GET URL obtained the same way reads it back.
func TestS3RoundTrip(t *testing.T) {
	srv := s3test.StartVersity(t)
	f, p := start(t, merge(conformance.Env, map[string]string{
		"PRESIGN_S3_ENDPOINT":   srv.Endpoint,
		"PRESIGN_S3_BUCKET":     srv.Bucket,
		"PRESIGN_S3_REGION":     srv.Region,
		"AWS_ACCESS_KEY_ID":     srv.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": srv.SecretAccessKey,
		"AWS_SESSION_TOKEN":     "",
	}))
	do := doer(f, p, functionURL)
	ask := func(body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", "https://abc.lambda-url.us-east-1.on.aws/v1/presign", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+conformance.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		var g map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &g) != nil {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		return g
	}
	data := []byte("hello from lambda, \x00\xff binary too")
	g := ask(fmt.Sprintf(`{"op":"put","key":"lambda/hello.bin","content_type":"application/octet-stream","content_length":%d}`, len(data)))
	put, _ := http.NewRequest(g["method"].(string), g["url"].(string), strings.NewReader(string(data)))
	for k, v := range g["headers"].(map[string]any) {
		put.Header.Set(k, v.(string))
	}
	put.ContentLength = int64(len(data))
	resp, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, b)
	}
	if got, ok := srv.GetObject(t, "lambda/hello.bin"); !ok || string(got) != string(data) {
		t.Fatalf("stored %q %v", got, ok)
	}

	g = ask(`{"op":"get","key":"lambda/hello.bin"}`)
	resp, err = http.Get(g["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != string(data) {
		t.Fatalf("GET: %d %q", resp.StatusCode, b)
	}
}

var (
	iamAuthorizer = map[string]any{"iam": map[string]any{
		"accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AIDAEXAMPLE:alice",
		"userArn": "arn:aws:iam::123456789012:user/alice", "userId": "AIDAEXAMPLE",
	}}
	jwtAuthorizer = map[string]any{"jwt": map[string]any{
		"claims": map[string]any{"sub": "alice", "iss": "https://auth.example.com/", "email": "a@example.com"},
		"scopes": []string{"presign"},
	}}
	// forgedHeaders pose as an authorized identity; they must never count.
	forgedHeaders = map[string]string{
		"X-Amzn-Iam-Userarn":      "arn:aws:iam::123456789012:user/admin",
		"X-Amzn-Oidc-Identity":    "admin",
		"X-Amzn-Requestcontext":   `{"authorizer":{"iam":{"userArn":"arn:aws:iam::1:root"}}}`,
		"X-Apigateway-Authorizer": `{"jwt":{"claims":{"sub":"admin"}}}`,
		"X-Amz-Security-Token":    "forged",
	}
)

// TestPlatformAuth: with PRESIGN_PLATFORM_AUTH the caller comes from the
// event's authorizer context only, never from a header (forged identity
// headers or a valid API key alike); without it the authorizer is ignored.
func TestPlatformAuth(t *testing.T) {
	tests := []struct {
		mode  string
		env   map[string]string
		cases []platformCase
	}{
		{"aws_iam", map[string]string{"PRESIGN_PLATFORM_AUTH": "aws_iam", "PRESIGN_API_KEYS": ""}, []platformCase{
			{"IAM authorizer", iamAuthorizer, false, false, 200},
			{"no authorizer", nil, false, false, 401},
			{"forged headers", nil, true, false, 401},
			{"valid API key, no authorizer", nil, false, true, 401},
			{"JWT authorizer", jwtAuthorizer, false, false, 401},
		}},
		{"jwt_authorizer", map[string]string{"PRESIGN_PLATFORM_AUTH": "jwt_authorizer"}, []platformCase{
			{"JWT authorizer", jwtAuthorizer, false, false, 200},
			{"JWT authorizer and forged headers", jwtAuthorizer, true, false, 200},
			{"IAM authorizer", iamAuthorizer, false, false, 401},
			{"forged headers and a valid API key", nil, true, true, 401},
		}},
		{"off", nil, []platformCase{
			{"IAM authorizer ignored", iamAuthorizer, false, false, 401},
			{"JWT authorizer ignored", jwtAuthorizer, true, false, 401},
			{"API key", iamAuthorizer, false, true, 200},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			f, p := start(t, merge(conformance.Env, tt.env))
			for _, c := range tt.cases {
				t.Run(c.name, func(t *testing.T) {
					s := functionURL
					s.authorizer = c.authorizer
					req, _ := http.NewRequest("POST", "https://abc.lambda-url.us-east-1.on.aws/v1/presign", strings.NewReader(`{"op":"get","key":"k"}`))
					if c.forged {
						for k, v := range forgedHeaders {
							req.Header.Set(k, v)
						}
					}
					if c.apiKey {
						req.Header.Set("Authorization", "Bearer "+conformance.APIKey)
					}
					resp, err := doer(f, p, s)(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != c.want {
						t.Errorf("status %d, want %d: %s", resp.StatusCode, c.want, b)
					}
				})
			}
		})
	}
}

type platformCase struct {
	name       string
	authorizer map[string]any
	forged     bool
	apiKey     bool
	want       int
}

// TestInitError: a bad configuration is reported to /runtime/init/error
// with every problem named and no secret, and the process exits.
func TestInitError(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no bucket":    merge(conformance.Env, map[string]string{"PRESIGN_S3_BUCKET": "", "PRESIGN_EXPIRES": "soon"}),
		"no auth":      merge(conformance.Env, map[string]string{"PRESIGN_API_KEYS": ""}),
		"bad mode":     merge(conformance.Env, map[string]string{"PRESIGN_PLATFORM_AUTH": "AWS_IAM_PLEASE"}),
		"open and iam": merge(conformance.Env, map[string]string{"PRESIGN_API_KEYS": "", "PRESIGN_AUTH": "none", "PRESIGN_PLATFORM_AUTH": "aws_iam"}),
		"missing file": merge(conformance.Env, map[string]string{"PRESIGN_CONFIG": "/nonexistent/presign.yaml"}),
	} {
		t.Run(name, func(t *testing.T) {
			f, p := start(t, env)
			var body []byte
			select {
			case body = <-f.initErr:
			case <-time.After(invokeTimeout):
				t.Fatal("no /runtime/init/error")
			}
			var e struct{ ErrorMessage, ErrorType string }
			if err := json.Unmarshal(body, &e); err != nil || e.ErrorType != "Runtime.ConfigError" || e.ErrorMessage == "" {
				t.Fatalf("init error %s", body)
			}
			if strings.Contains(e.ErrorMessage, conformance.Env["AWS_SECRET_ACCESS_KEY"]) || strings.Contains(e.ErrorMessage, conformance.APIKey) {
				t.Errorf("secret in %q", e.ErrorMessage)
			}
			if name == "no bucket" && (!strings.Contains(e.ErrorMessage, "PRESIGN_S3_BUCKET") || !strings.Contains(e.ErrorMessage, "PRESIGN_EXPIRES")) {
				t.Errorf("message %q does not name every problem", e.ErrorMessage)
			}
			select {
			case <-p.exited:
				if p.cmd.ProcessState.ExitCode() != 1 {
					t.Errorf("exit %v", p.err)
				}
			case <-time.After(invokeTimeout):
				t.Fatal("the bootstrap did not exit")
			}
		})
	}
}

// BenchmarkColdStart: process start → first response through the fake
// Runtime API, for the presign bootstrap (a presigned GET on the tutorial
// route, API key checked) and for a minimal lambda.Start hello world built
// the same way (the floor). Each iteration starts both, in alternating
// order, so host noise lands on both alike. Reported: the p50 and p90 of
// start → /response and the p50 of start → first /next (init done) of
// each, in ms, and presign's p50 over the floor's.
func BenchmarkColdStart(b *testing.B) {
	hello := filepath.Join(b.TempDir(), "bootstrap")
	if err := goBuild(hello, "presign.dev/cmd/presign-lambda/internal/hello", ""); err != nil {
		b.Fatal(err)
	}
	event, err := functionURL.event(mustRequest("GET", "https://abc.lambda-url.us-east-1.on.aws/?key=cat.png&method=GET",
		map[string]string{"Authorization": "Bearer " + conformance.APIKey}))
	if err != nil {
		b.Fatal(err)
	}
	type sample struct{ toResp, toNext []time.Duration }
	bins := []struct {
		name, path string
		sample
	}{{name: "presign", path: bootstrap}, {name: "hello", path: hello}}
	coldStart := func(path string) (toResp, toNext time.Duration) {
		f := newFakeRuntime()
		defer f.Close()
		env := merge(lambdaEnv(f.Addr()), conformance.Env)
		t0 := time.Now()
		p, err := startProc(path, env)
		if err != nil {
			b.Fatal(err)
		}
		defer p.stop()
		r, err := f.invoke(p, event)
		if err != nil || r.isError || !strings.Contains(string(r.body), `"statusCode":200`) {
			b.Fatalf("%s: %v %s", path, err, r.body)
		}
		return r.at.Sub(t0), (<-f.nexts).Sub(t0)
	}
	n := 0
	for b.Loop() {
		for i := range bins {
			bin := &bins[(i+n)%len(bins)]
			toResp, toNext := coldStart(bin.path)
			bin.toResp = append(bin.toResp, toResp)
			bin.toNext = append(bin.toNext, toNext)
		}
		n++
	}
	for _, bin := range bins {
		b.ReportMetric(pct(bin.toResp, 50), bin.name+"-p50-ms")
		b.ReportMetric(pct(bin.toResp, 90), bin.name+"-p90-ms")
		b.ReportMetric(pct(bin.toNext, 50), bin.name+"-init-p50-ms")
	}
	b.ReportMetric(pct(bins[0].toResp, 50)/pct(bins[1].toResp, 50), "ratio-p50")
	b.ReportMetric(0, "ns/op") // an iteration is two cold starts; the metrics above are the figures
}

// pct is the q-th percentile of ds in ms (nearest rank).
func pct(ds []time.Duration, q int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*q + 99) / 100
	if i > 0 {
		i--
	}
	return float64(s[i].Microseconds()) / 1000
}

func mustRequest(method, url string, h map[string]string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return req
}

// TestPlatformIdentityUnderRules: with PRESIGN_PLATFORM_AUTH=aws_iam and a
// config file, the IAM caller's ARN is the principal that rules match.
func TestPlatformIdentityUnderRules(t *testing.T) {
	for _, tt := range []struct {
		name string
		arn  string
		want int
	}{
		{"rule names the caller", "arn:aws:iam::123456789012:user/alice", 200},
		{"rule names another caller", "arn:aws:iam::123456789012:user/bob", 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "presign.yaml")
			rules := "rules:\n  - name: iam-readers\n    who: {iam: [\"" + tt.arn + "\"]}\n    ops: [get]\n    keys: [\"k\"]\n"
			if err := os.WriteFile(file, []byte(rules), 0o600); err != nil {
				t.Fatal(err)
			}
			f, p := start(t, merge(conformance.Env, map[string]string{"PRESIGN_PLATFORM_AUTH": "aws_iam", "PRESIGN_API_KEYS": "", "PRESIGN_CONFIG": file}))
			s := functionURL
			s.authorizer = iamAuthorizer
			req, _ := http.NewRequest("POST", "https://abc.lambda-url.us-east-1.on.aws/v1/presign", strings.NewReader(`{"op":"get","key":"k"}`))
			resp, err := doer(f, p, s)(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
		})
	}
}

// TestBuildFlagsAreTheScripts: the tests build the bootstrap as
// scripts/build-lambda.sh does, so what they measure is what ships.
func TestBuildFlagsAreTheScripts(t *testing.T) {
	script, err := os.ReadFile("../../scripts/build-lambda.sh")
	if err != nil {
		t.Fatal(err)
	}
	want := "go build " + strings.Join(buildFlags[:4], " ") + " \\\n\t\t-ldflags='-s -w -buildid='"
	if !strings.Contains(string(script), want) {
		t.Errorf("scripts/build-lambda.sh does not build with %q", want)
	}
}
