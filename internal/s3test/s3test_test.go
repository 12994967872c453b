package s3test

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestServers(t *testing.T) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := Start(t, name)
			testServer(t, s)
		})
	}
}

func testServer(t *testing.T, s *Server) {
	if s.Name == "" || s.Region != "us-east-1" || s.AccessKeyID == "" || s.SecretAccessKey == "" {
		t.Fatalf("incomplete server: %+v", s)
	}
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q is not on 127.0.0.1", s.Endpoint)
	}
	ctx := t.Context()

	t.Run("bucket exists and is empty", func(t *testing.T) {
		out, err := s.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket)})
		if err != nil {
			t.Fatal(err)
		}
		if n := aws.ToInt32(out.KeyCount); n != 0 || len(out.Contents) != 0 {
			t.Fatalf("new bucket holds %d objects", n)
		}
	})

	t.Run("put get round trip", func(t *testing.T) {
		data := make([]byte, 0, 3*256)
		for i := range 3 * 256 {
			data = append(data, byte(i))
		}
		const key = "dir/sub/round trip+ü.bin"
		s.PutObject(t, key, data)
		got, ok := s.GetObject(t, key)
		if !ok {
			t.Fatal("GetObject: no such key right after PutObject")
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("GetObject returned %d bytes that differ from the %d put", len(got), len(data))
		}
		ct, size, ok := s.HeadObject(t, key)
		if !ok || ct != "application/octet-stream" || size != int64(len(data)) {
			t.Fatalf("HeadObject = %q, %d, %v; want application/octet-stream, %d, true", ct, size, ok, len(data))
		}
	})

	t.Run("missing key", func(t *testing.T) {
		if data, ok := s.GetObject(t, "no/such/key"); ok {
			t.Fatalf("GetObject of a missing key returned %d bytes", len(data))
		}
		if ct, size, ok := s.HeadObject(t, "no/such/key"); ok {
			t.Fatalf("HeadObject of a missing key = %q, %d, true", ct, size)
		}
	})

	t.Run("head content type", func(t *testing.T) {
		const key = "hello.txt"
		const want = "text/plain; charset=utf-8"
		_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{
			Bucket:      aws.String(s.Bucket),
			Key:         aws.String(key),
			Body:        strings.NewReader("hello"),
			ContentType: aws.String(want),
		})
		if err != nil {
			t.Fatal(err)
		}
		if ct, size, ok := s.HeadObject(t, key); !ok || ct != want || size != 5 {
			t.Fatalf("HeadObject = %q, %d, %v; want %q, 5, true", ct, size, ok, want)
		}

		// What the server stores when a PUT names no type: tests of
		// presigned uploads without a Content-Type depend on it.
		_, err = s.Client().PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(s.Bucket),
			Key:    aws.String("untyped"),
			Body:   strings.NewReader("x"),
		})
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := s.HeadObject(t, "untyped")
		t.Logf("%s: Content-Type stored for a PUT without one: %q", s.Name, ct)
	})

	t.Run("wrong secret refused", func(t *testing.T) {
		bad := s.ClientWith(s.AccessKeyID, s.SecretAccessKey+"x")
		_, err := bad.ListBuckets(ctx, &s3.ListBucketsInput{})
		assertRefused(t, "ListBuckets with a wrong secret", err, "SignatureDoesNotMatch")
		_, err = bad.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(s.Bucket), Key: aws.String("forged"), Body: strings.NewReader("x"),
		})
		assertRefused(t, "PutObject with a wrong secret", err, "SignatureDoesNotMatch")
		if _, ok := s.GetObject(t, "forged"); ok {
			t.Fatal("a PUT signed with a wrong secret stored the object")
		}
	})

	t.Run("unknown access key refused", func(t *testing.T) {
		bad := s.ClientWith("AKNOSUCHKEY0000000000", s.SecretAccessKey)
		_, err := bad.ListBuckets(ctx, &s3.ListBucketsInput{})
		assertRefused(t, "ListBuckets with an unknown access key", err, "InvalidAccessKeyId")
	})

	t.Run("CORS preflight allowed", func(t *testing.T) {
		const origin = "http://app.example.test"
		req, err := http.NewRequestWithContext(ctx, http.MethodOptions, s.Endpoint+"/"+s.Bucket+"/upload.bin", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		allow := resp.Header.Get("Access-Control-Allow-Origin")
		methods := resp.Header.Get("Access-Control-Allow-Methods")
		t.Logf("%s: preflight %d, Allow-Origin %q, Allow-Methods %q, Allow-Headers %q",
			s.Name, resp.StatusCode, allow, methods, resp.Header.Get("Access-Control-Allow-Headers"))
		if resp.StatusCode/100 != 2 || (allow != "*" && allow != origin) || !strings.Contains(strings.ToUpper(methods), "PUT") {
			t.Fatalf("preflight for a PUT from %s not allowed", origin)
		}
	})
}

func assertRefused(t *testing.T, what string, err error, wantCode string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded", what)
	}
	code, status := errorCode(err), httpStatus(err)
	t.Logf("%s: HTTP %d %s", what, status, code)
	if status != http.StatusForbidden || code != wantCode {
		t.Fatalf("%s: got HTTP %d %q (%v); want 403 %s", what, status, code, err, wantCode)
	}
}

// TestCleanupStopsServer checks that no server outlives the test that
// started it.
func TestCleanupStopsServer(t *testing.T) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var pid int
			t.Run("inner", func(t *testing.T) {
				s := Start(t, name)
				pid = s.proc.cmd.Process.Pid
			})
			if pid == 0 {
				t.Skip("inner test did not start a server")
			}
			// Cleanup waited for the process, so it is reaped: the PID is free.
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Fatalf("server pid %d still there after its test ended (kill 0: %v)", pid, err)
			}
		})
	}
}

func TestStartUnknownName(t *testing.T) {
	if _, ok := kinds["nosuchserver"]; ok {
		t.Fatal("unexpected kind")
	}
	for _, name := range Names {
		if _, ok := kinds[name]; !ok {
			t.Fatalf("Names lists %q, which has no kind", name)
		}
	}
}

// TestPortClashRetried makes the first start attempt use a port another
// listener holds: the server fails to bind, and Start retries on fresh ports.
// Not parallel: it swaps the package's port picker.
func TestPortClashRetried(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	taken := held.Addr().(*net.TCPAddr).Port

	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			calls := 0
			pickPorts = func(n int) ([]int, error) {
				calls++
				ports, err := freePorts(n)
				if calls == 1 && err == nil {
					ports[0] = taken
				}
				return ports, err
			}
			t.Cleanup(func() { pickPorts = freePorts })

			s := Start(t, name)
			if calls < 2 {
				t.Fatalf("ports were picked %d times; want a retry", calls)
			}
			if s.Endpoint == "http://127.0.0.1:"+strconv.Itoa(taken) {
				t.Fatalf("server claims the held port %d", taken)
			}
			s.PutObject(t, "k", []byte("v"))
			if got, ok := s.GetObject(t, "k"); !ok || string(got) != "v" {
				t.Fatalf("GetObject after retry = %q, %v", got, ok)
			}
		})
	}
}
