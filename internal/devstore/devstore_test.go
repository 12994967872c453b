package devstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sys/unix"
)

const (
	testRegion = "eu-west-1"
	testAccess = "devaccesskey"
	testSecret = "devsecretkey-0123456789"
	testBucket = "dev-uploads"
	testOrigin = "http://localhost:5173"
)

// Tests in this package must not run in parallel: one store per process.

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func testConfig(t *testing.T, dataDir string) Config {
	return Config{
		Addr:            freeAddr(t),
		DataDir:         dataDir,
		Region:          testRegion,
		AccessKeyID:     testAccess,
		SecretAccessKey: testSecret,
		Bucket:          testBucket,
		CORSOrigins:     []string{"http://localhost:*", "https://app.example.com"},
	}
}

func startStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v", time.Since(begin))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func newClient(s *Store, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(testAccess, secret, ""),
		// Fail fast instead of retrying on the 403s these tests provoke.
		RetryMaxAttempts: 1,
	})
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func putObject(t *testing.T, c *s3.Client, key string, body []byte) {
	t.Helper()
	_, err := c.PutObject(testCtx(t), &s3.PutObjectInput{
		Bucket:      aws.String(testBucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("text/plain"),
	})
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

func getObject(t *testing.T, c *s3.Client, key string) []byte {
	t.Helper()
	out, err := c.GetObject(testCtx(t), &s3.GetObjectInput{
		Bucket: aws.String(testBucket),
		Key:    aws.String(key),
	})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req.WithContext(testCtx(t)))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func preflight(t *testing.T, s *Store, key, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, s.Endpoint()+"/"+testBucket+"/"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, _ := do(t, req)
	return resp
}

func headerHasToken(h, token string) bool {
	for part := range strings.SplitSeq(h, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

func TestStore(t *testing.T) {
	dataDir := t.TempDir()
	cfg := testConfig(t, dataDir)
	s := startStore(t, cfg)

	if got, want := s.Endpoint(), "http://"+cfg.Addr; got != want {
		t.Fatalf("Endpoint() = %q, want %q", got, want)
	}

	c := newClient(s, testSecret)
	body := []byte("hello from the embedded store\n")
	const key = "dir/hello.txt"

	t.Run("PutGet", func(t *testing.T) {
		putObject(t, c, key, body)
		if got := getObject(t, c, key); !bytes.Equal(got, body) {
			t.Fatalf("GET returned %q, want %q", got, body)
		}
	})

	t.Run("OnDiskLayout", func(t *testing.T) {
		got, err := os.ReadFile(filepath.Join(dataDir, BucketsDirName, testBucket, "dir", "hello.txt"))
		if err != nil {
			t.Fatalf("object is not a plain file under DataDir/%s: %v", BucketsDirName, err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("file content %q, want %q", got, body)
		}
		if _, err := os.Stat(filepath.Join(dataDir, MetaDirName, testBucket)); err != nil {
			t.Fatalf("no sidecar metadata for the bucket: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dataDir, MetaDirName, testBucket, "dir", "hello.txt")); err != nil {
			t.Fatalf("no sidecar metadata for the object: %v", err)
		}
		// Metadata must not be in extended attributes.
		for _, p := range []string{
			filepath.Join(dataDir, BucketsDirName, testBucket),
			filepath.Join(dataDir, BucketsDirName, testBucket, "dir", "hello.txt"),
		} {
			buf := make([]byte, 4096)
			n, err := unix.Listxattr(p, buf)
			if err != nil && !errors.Is(err, unix.ENOTSUP) {
				t.Fatalf("listxattr %s: %v", p, err)
			}
			if n > 0 {
				t.Errorf("%s has xattrs %q", p, buf[:n])
			}
		}
	})

	t.Run("WrongSecretRefused", func(t *testing.T) {
		bad := newClient(s, "not-the-secret")
		_, err := bad.GetObject(testCtx(t), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
		if code := httpStatus(err); code != http.StatusForbidden {
			t.Fatalf("GET with wrong secret: status %d (err %v), want 403", code, err)
		}
		_, err = bad.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("evil"), Body: strings.NewReader("x")})
		if code := httpStatus(err); code != http.StatusForbidden {
			t.Fatalf("PUT with wrong secret: status %d (err %v), want 403", code, err)
		}
	})

	t.Run("UnsignedRefused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.Endpoint()+"/"+testBucket+"/"+key, nil)
		resp, _ := do(t, req)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("anonymous GET: status %d, want 403", resp.StatusCode)
		}
	})

	presign := s3.NewPresignClient(c)

	t.Run("PresignedGETWithCORS", func(t *testing.T) {
		pr, err := presign.PresignGetObject(testCtx(t), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, pr.URL, nil)
		req.Header.Set("Origin", testOrigin)
		resp, got := do(t, req)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("presigned GET: status %d body %q", resp.StatusCode, got)
		}
		if o := resp.Header.Get("Access-Control-Allow-Origin"); o != testOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", o, testOrigin)
		}
		if eh := resp.Header.Get("Access-Control-Expose-Headers"); !headerHasToken(eh, "ETag") {
			t.Errorf("Access-Control-Expose-Headers = %q, want ETag", eh)
		}
		if resp.Header.Get("ETag") == "" {
			t.Errorf("no ETag on GET")
		}

		// Tampering with the signed URL must be refused.
		req, _ = http.NewRequest(http.MethodGet, strings.Replace(pr.URL, "hello.txt", "hellp.txt", 1), nil)
		if resp, _ := do(t, req); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("tampered presigned GET: status %d, want 403", resp.StatusCode)
		}
	})

	t.Run("PresignedPUTWithCORS", func(t *testing.T) {
		pr, err := presign.PresignPutObject(testCtx(t), &s3.PutObjectInput{
			Bucket:      aws.String(testBucket),
			Key:         aws.String("browser.txt"),
			ContentType: aws.String("text/plain"),
		})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPut, pr.URL, strings.NewReader("from a browser"))
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Content-Type", "text/plain")
		resp, respBody := do(t, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("presigned PUT: status %d: %s", resp.StatusCode, respBody)
		}
		if o := resp.Header.Get("Access-Control-Allow-Origin"); o != testOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", o, testOrigin)
		}
		if eh := resp.Header.Get("Access-Control-Expose-Headers"); !headerHasToken(eh, "ETag") || !headerHasToken(eh, "Location") {
			t.Errorf("Access-Control-Expose-Headers = %q, want ETag and Location", eh)
		}
		if got := getObject(t, c, "browser.txt"); string(got) != "from a browser" {
			t.Fatalf("GET after presigned PUT: %q", got)
		}
	})

	t.Run("PresignedPOSTPolicy", func(t *testing.T) {
		pp, err := presign.PresignPostObject(testCtx(t), &s3.PutObjectInput{
			Bucket: aws.String(testBucket),
			Key:    aws.String("posted.txt"),
		})
		if err != nil {
			t.Fatal(err)
		}
		post := func(fields map[string]string) *http.Response {
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			for k, v := range fields {
				if err := w.WriteField(k, v); err != nil {
					t.Fatal(err)
				}
			}
			fw, err := w.CreateFormFile("file", "posted.txt")
			if err != nil {
				t.Fatal(err)
			}
			fw.Write([]byte("posted via form"))
			w.Close()
			req, _ := http.NewRequest(http.MethodPost, pp.URL, &buf)
			req.Header.Set("Content-Type", w.FormDataContentType())
			req.Header.Set("Origin", testOrigin)
			resp, _ := do(t, req)
			return resp
		}

		tampered := make(map[string]string, len(pp.Values))
		for k, v := range pp.Values {
			tampered[k] = v
		}
		tampered["key"] = "elsewhere.txt"
		if resp := post(tampered); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST with key outside the policy: status %d, want 403", resp.StatusCode)
		}

		resp := post(pp.Values)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST policy upload: status %d", resp.StatusCode)
		}
		if o := resp.Header.Get("Access-Control-Allow-Origin"); o != testOrigin {
			t.Errorf("POST Access-Control-Allow-Origin = %q, want %q", o, testOrigin)
		}
		if got := getObject(t, c, "posted.txt"); string(got) != "posted via form" {
			t.Fatalf("GET after POST: %q", got)
		}
	})

	t.Run("PreflightAllowed", func(t *testing.T) {
		resp := preflight(t, s, "upload.bin", testOrigin)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("preflight: status %d, want 200", resp.StatusCode)
		}
		if o := resp.Header.Get("Access-Control-Allow-Origin"); o != testOrigin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", o, testOrigin)
		}
		if m := resp.Header.Get("Access-Control-Allow-Methods"); !headerHasToken(m, "PUT") {
			t.Errorf("Access-Control-Allow-Methods = %q, want PUT", m)
		}
		if h := resp.Header.Get("Access-Control-Allow-Headers"); !headerHasToken(h, "content-type") {
			t.Errorf("Access-Control-Allow-Headers = %q, want content-type", h)
		}
		if ma := resp.Header.Get("Access-Control-Max-Age"); ma != "3600" {
			t.Errorf("Access-Control-Max-Age = %q, want 3600", ma)
		}
		// The other configured origin (no wildcard) is allowed too.
		if resp := preflight(t, s, "x", "https://app.example.com"); resp.StatusCode != http.StatusOK {
			t.Errorf("preflight for https://app.example.com: status %d", resp.StatusCode)
		}
	})

	t.Run("OriginNotAllowed", func(t *testing.T) {
		for _, origin := range []string{"http://evil.example", "https://localhost:5173", "http://app.example.com"} {
			resp := preflight(t, s, "upload.bin", origin)
			if resp.StatusCode == http.StatusOK {
				t.Errorf("preflight from %s: status 200, want refusal", origin)
			}
			if o := resp.Header.Get("Access-Control-Allow-Origin"); o != "" {
				t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q, want none", origin, o)
			}
		}
		// An actual request from a foreign origin is served (S3 does not
		// block it) but carries no CORS grant, so a browser would hide it.
		pr, err := presign.PresignGetObject(testCtx(t), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, pr.URL, nil)
		req.Header.Set("Origin", "http://evil.example")
		resp, _ := do(t, req)
		if o := resp.Header.Get("Access-Control-Allow-Origin"); o != "" {
			t.Errorf("GET from foreign origin: Access-Control-Allow-Origin = %q, want none", o)
		}
	})

	t.Run("SecondStartRefused", func(t *testing.T) {
		wd, _ := os.Getwd()
		cfg2 := testConfig(t, t.TempDir())
		if s2, err := Start(testCtx(t), cfg2); err == nil {
			s2.Close()
			t.Fatal("second concurrent Start succeeded")
		}
		if wd2, _ := os.Getwd(); wd2 != wd {
			t.Fatalf("failed Start changed working directory from %q to %q", wd, wd2)
		}
		if got := getObject(t, c, key); !bytes.Equal(got, body) {
			t.Fatal("first store broken by refused second Start")
		}
	})
}

func TestRestartKeepsData(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	cfg := testConfig(t, dataDir)
	ctx := testCtx(t)

	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	putObject(t, newClient(s, testSecret), "keep.txt", []byte("still here"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if wd2, _ := os.Getwd(); wd2 != wd {
		t.Fatalf("Close left working directory at %q, want %q", wd2, wd)
	}
	// The port is free again once Close returns.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatalf("port still bound after Close: %v", err)
	}
	ln.Close()

	// Same DataDir and address: bucket reused, object still there.
	s = startStore(t, cfg)
	if got := getObject(t, newClient(s, testSecret), "keep.txt"); string(got) != "still here" {
		t.Fatalf("after restart GET = %q", got)
	}
	if resp := preflight(t, s, "keep.txt", testOrigin); resp.StatusCode != http.StatusOK {
		t.Fatalf("preflight after restart: status %d", resp.StatusCode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart without origins: CORS is removed, data stays.
	cfg.CORSOrigins = nil
	s = startStore(t, cfg)
	if resp := preflight(t, s, "keep.txt", testOrigin); resp.StatusCode == http.StatusOK {
		t.Fatalf("preflight with no CORSOrigins: status 200, want refusal")
	}
	if got := getObject(t, newClient(s, testSecret), "keep.txt"); string(got) != "still here" {
		t.Fatalf("after second restart GET = %q", got)
	}
}

func TestStartPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	wd, _ := os.Getwd()

	cfg := testConfig(t, t.TempDir())
	cfg.Addr = ln.Addr().String()
	begin := time.Now()
	s, err := Start(testCtx(t), cfg)
	if err == nil {
		s.Close()
		t.Fatal("Start on a taken port succeeded")
	}
	t.Logf("Start on taken port failed after %v: %v", time.Since(begin), err)
	if wd2, _ := os.Getwd(); wd2 != wd {
		t.Fatalf("failed Start left working directory at %q, want %q", wd2, wd)
	}

	// Nothing is left running: a new Start works.
	s = startStore(t, testConfig(t, t.TempDir()))
	putObject(t, newClient(s, testSecret), "k", []byte("v"))
}

func TestStartInvalidConfig(t *testing.T) {
	wd, _ := os.Getwd()
	base := testConfig(t, t.TempDir())
	cases := map[string]func(*Config){
		"no addr":          func(c *Config) { c.Addr = "" },
		"no port":          func(c *Config) { c.Addr = "127.0.0.1" },
		"zero port":        func(c *Config) { c.Addr = "127.0.0.1:0" },
		"bad port":         func(c *Config) { c.Addr = "127.0.0.1:http" },
		"no host":          func(c *Config) { c.Addr = ":9000" },
		"no data dir":      func(c *Config) { c.DataDir = "" },
		"no region":        func(c *Config) { c.Region = "" },
		"no access key":    func(c *Config) { c.AccessKeyID = "" },
		"no secret":        func(c *Config) { c.SecretAccessKey = "" },
		"no bucket":        func(c *Config) { c.Bucket = "" },
		"bad bucket":       func(c *Config) { c.Bucket = "Not_A_Bucket" },
		"double wildcard":  func(c *Config) { c.CORSOrigins = []string{"http://*:*"} },
		"empty origin":     func(c *Config) { c.CORSOrigins = []string{""} },
		"data dir is file": nil,
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := base
			if mutate != nil {
				mutate(&cfg)
			} else {
				f := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(f, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				cfg.DataDir = f
			}
			if s, err := Start(testCtx(t), cfg); err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			} else {
				t.Log(err)
			}
			if wd2, _ := os.Getwd(); wd2 != wd {
				t.Fatalf("working directory changed to %q", wd2)
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if s, err := Start(ctx, base); err == nil {
			s.Close()
			t.Fatal("Start with cancelled context succeeded")
		}
	})
}

// TestQuiet checks that the gateway prints nothing (no banner, no request
// log) on stdout or stderr. It redirects file descriptors 1 and 2 rather than
// os.Stdout/os.Stderr because fiber's request logger captured os.Stdout at
// package init.
func TestQuiet(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	captured := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		r.Close()
		captured <- b
	}()
	savedOut, err := unix.Dup(1)
	if err != nil {
		t.Fatal(err)
	}
	savedErr, err := unix.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup2(int(w.Fd()), 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if restored {
			return
		}
		restored = true
		unix.Dup2(savedOut, 1)
		unix.Dup2(savedErr, 2)
		unix.Close(savedOut)
		unix.Close(savedErr)
		w.Close()
	}
	defer restore()

	s, err := Start(testCtx(t), testConfig(t, t.TempDir()))
	if err != nil {
		restore()
		t.Fatal(err)
	}
	c := newClient(s, testSecret)
	_, putErr := c.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("q"), Body: strings.NewReader("q")})
	_, badErr := newClient(s, "wrong").GetObject(testCtx(t), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("q")})
	closeErr := s.Close()
	restore()
	out := <-captured

	if putErr != nil || badErr == nil || closeErr != nil {
		t.Fatalf("put %v, bad get %v, close %v", putErr, badErr, closeErr)
	}
	if len(out) != 0 {
		t.Fatalf("gateway printed %d bytes:\n%s", len(out), out)
	}
}
