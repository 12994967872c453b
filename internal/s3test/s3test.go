// Package s3test starts real S3 servers (Versity Gateway and MinIO) as child
// processes on 127.0.0.1 for integration tests, and gives tests a plain,
// non-presigned S3 client to check independently what landed in a bucket.
//
// The binaries are built by scripts/install-test-servers.sh into
// <repo>/.tools/bin; PRESIGN_VERSITYGW_BIN and PRESIGN_MINIO_BIN override the
// paths. When a binary is missing the test is skipped, except under CI=true
// where a missing dependency fails the test.
//
// Only tests import this package.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"presign.dev/internal/testdep"
)

// Names lists every server this package can start, for table tests that run
// the same cases against each of them.
var Names = []string{"versitygw", "minio"}

// Region is the region every server is configured with.
const Region = "us-east-1"

const (
	// readyTimeout bounds how long a server may take to answer its first
	// authenticated request.
	readyTimeout = 60 * time.Second
	// pollInterval is the readiness ticker period.
	pollInterval = 50 * time.Millisecond
	// stopTimeout is how long a server gets between SIGTERM and SIGKILL.
	stopTimeout = 10 * time.Second
	// startAttempts bounds retries when a picked port was taken meanwhile.
	startAttempts = 5
	// logTailBytes is how much of the server log is shown on failure.
	logTailBytes = 8 << 10
)

// Server is a real S3 server running as a child process on 127.0.0.1 for one
// test (or one parent test whose subtests share it).
type Server struct {
	Name            string // "versitygw" or "minio"
	Endpoint        string // "http://127.0.0.1:PORT"
	Region          string // "us-east-1"
	AccessKeyID     string
	SecretAccessKey string
	Bucket          string // created and empty at start

	bin     string   // server binary
	args    []string // command line (argv[1:]); credentials go in env
	dir     string   // per-server temp dir: data, metadata, home, log
	logPath string   // child's stdout+stderr
	proc    *proc    // the running child

	clientOnce sync.Once
	client     *s3.Client
}

// proc is one child process.
type proc struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd.Wait returns
	waitErr error         // set before done is closed
}

// kind describes how to run one server.
type kind struct {
	name   string
	envBin string // env var overriding the binary path
	// ports is how many free loopback ports the command needs.
	ports int
	// layout creates the dirs under root and returns the command line and
	// the server-specific environment.
	layout func(s *Server, root string, ports []int) (args, env []string, err error)
	// bucketCORS is false when the server has no bucket CORS API and its
	// CORS is configured server-wide instead (MinIO).
	bucketCORS bool
}

var kinds = map[string]kind{
	"versitygw": {
		name:       "versitygw",
		envBin:     "PRESIGN_VERSITYGW_BIN",
		ports:      1,
		layout:     versityLayout,
		bucketCORS: true,
	},
	"minio": {
		name:       "minio",
		envBin:     "PRESIGN_MINIO_BIN",
		ports:      2, // S3 API, console
		layout:     minioLayout,
		bucketCORS: false,
	},
}

// versityLayout: posix backend over data/, metadata in a sidecar dir meta/
// (not xattrs, which tmpfs and some CI filesystems lack), internal IAM in
// iam/. Without --iam-dir the gateway runs a single-user IAM that answers an
// unknown access key with a non-S3 "404 XAdminUserNotFound"; with it, the
// answer is S3's "403 InvalidAccessKeyId". No user is ever added: only the
// root credentials sign.
func versityLayout(s *Server, root string, ports []int) ([]string, []string, error) {
	data, meta, iam := filepath.Join(root, "data"), filepath.Join(root, "meta"), filepath.Join(root, "iam")
	for _, d := range []string{data, meta, iam} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, err
		}
	}
	args := []string{
		"--port", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--region", s.Region,
		"--iam-dir", iam,
		"posix",
		"--sidecar", meta,
		data,
	}
	env := []string{
		"ROOT_ACCESS_KEY_ID=" + s.AccessKeyID,
		"ROOT_SECRET_ACCESS_KEY=" + s.SecretAccessKey,
	}
	return args, env, nil
}

// minioLayout: single-drive server over data/. The console is disabled
// (MINIO_BROWSER=off) and in any case bound to loopback; update checks and
// call-home are off. MinIO has no bucket CORS API: its CORS is server-wide,
// set here to allow any origin.
func minioLayout(s *Server, root string, ports []int) ([]string, []string, error) {
	data := filepath.Join(root, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, nil, err
	}
	args := []string{
		"server",
		"--address", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--console-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
		data,
	}
	env := []string{
		"MINIO_ROOT_USER=" + s.AccessKeyID,
		"MINIO_ROOT_PASSWORD=" + s.SecretAccessKey,
		"MINIO_SITE_REGION=" + s.Region,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
		"MINIO_API_CORS_ALLOW_ORIGIN=*",
	}
	return args, env, nil
}

// StartVersity starts a Versity Gateway (posix backend) for tb.
func StartVersity(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, kinds["versitygw"])
}

// StartMinIO starts a single-drive MinIO server for tb.
func StartMinIO(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, kinds["minio"])
}

// Start starts the server called name, one of Names.
func Start(tb testing.TB, name string) *Server {
	tb.Helper()
	k, ok := kinds[name]
	if !ok {
		tb.Fatalf("s3test: unknown server %q (known: %s)", name, strings.Join(Names, ", "))
	}
	return start(tb, k)
}

func start(tb testing.TB, k kind) *Server {
	tb.Helper()
	bin := binary(tb, k)

	s := &Server{
		Name:            k.name,
		Region:          Region,
		AccessKeyID:     randText(20),
		SecretAccessKey: randText(40),
		Bucket:          "presign-test-" + strings.ToLower(randText(12)),
		bin:             bin,
		dir:             tb.TempDir(),
	}
	s.logPath = filepath.Join(s.dir, k.name+".log")

	// Cleanups run last-registered first: the process is stopped, then on
	// failure its complete log is shown, then TempDir removes the files.
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("s3test: last lines of %s log (%s):\n%s", s.Name, s.logPath, s.logTail())
		}
	})

	began := time.Now()
	var lastErr error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		err := s.launch(tb, k, attempt)
		if err == nil {
			lastErr = nil
			break
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
		tb.Logf("s3test: %s attempt %d: %v; retrying on other ports", s.Name, attempt, err)
	}
	if lastErr != nil {
		tb.Fatalf("s3test: starting %s: %v", s.Name, lastErr) // the cleanup above shows its log
	}
	ready := time.Since(began)

	if err := s.setupBucket(tb, k); err != nil {
		tb.Fatalf("s3test: %s: %v", s.Name, err)
	}
	tb.Logf("s3test: %s pid %d ready at %s after %v (bucket %s): %s %s",
		s.Name, s.proc.cmd.Process.Pid, s.Endpoint, ready.Round(time.Millisecond), s.Bucket, s.bin, strings.Join(s.args, " "))
	return s
}

var errPortInUse = errors.New("port already in use")

// launch starts the process on fresh ports and waits until it answers an
// authenticated request. On failure the process is gone when it returns.
func (s *Server) launch(tb testing.TB, k kind, attempt int) error {
	ports, err := pickPorts(k.ports)
	if err != nil {
		return err
	}
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(ports[0])
	s.clientOnce = sync.Once{}
	s.client = nil

	root := filepath.Join(s.dir, "run"+strconv.Itoa(attempt))
	home := filepath.Join(root, "home")
	tmp := filepath.Join(root, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	args, env, err := k.layout(s, root, ports)
	if err != nil {
		return err
	}
	s.args = args

	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child keeps its own copy of the descriptor
	var attemptStart int64
	if fi, err := logf.Stat(); err == nil {
		attemptStart = fi.Size()
	}
	fmt.Fprintf(logf, "=== s3test attempt %d: %s %s\n", attempt, s.bin, strings.Join(args, " "))

	cmd := exec.Command(s.bin, args...)
	cmd.Dir = root
	// A fresh environment: nothing of the test's (CI, AWS_*, MINIO_*, VGW_*,
	// proxies) leaks into the server, so it runs the same everywhere.
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + tmp,
	}, env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", s.bin, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
			if s.proc == p {
				tb.Errorf("s3test: %s (pid %d) exited during the test: %v", s.Name, cmd.Process.Pid, p.waitErr)
			}
		default:
			s.stop(tb, p)
		}
	})

	if err := s.waitReady(tb, p); err != nil {
		s.stop(tb, p)
		// versitygw: "bind: address already in use";
		// minio: "Specified port is already in use".
		if log, _ := os.ReadFile(s.logPath); int64(len(log)) >= attemptStart &&
			bytes.Contains(log[attemptStart:], []byte("already in use")) {
			return fmt.Errorf("%w: %v", errPortInUse, err)
		}
		return err
	}
	s.proc = p
	return nil
}

// waitReady polls until an authenticated ListBuckets succeeds, the process
// exits, or readyTimeout passes.
func (s *Server) waitReady(tb testing.TB, p *proc) error {
	ctx, cancel := context.WithTimeout(tb.Context(), readyTimeout)
	defer cancel()
	// A request in flight when the process exits (say to some other
	// listener on a clashing port) ends with it.
	exited, markExited := context.WithCancel(ctx)
	defer markExited()
	go func() {
		select {
		case <-p.done:
			markExited()
		case <-exited.Done():
		}
	}()
	client := s.newClient(s.AccessKeyID, s.SecretAccessKey, func(o *s3.Options) {
		o.RetryMaxAttempts = 1 // this loop is the retry
	})
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		reqCtx, reqCancel := context.WithTimeout(exited, 2*time.Second)
		_, err := client.ListBuckets(reqCtx, &s3.ListBucketsInput{})
		reqCancel()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-p.done:
			return fmt.Errorf("process exited before it was ready (%v); last request error: %v", p.waitErr, lastErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v; last request error: %v", readyTimeout, lastErr)
		case <-tick.C:
		}
	}
}

// setupBucket creates s.Bucket and makes its CORS permissive.
func (s *Server) setupBucket(tb testing.TB, k kind) error {
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	defer cancel()
	c := s.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", s.Bucket, err)
	}
	_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{
		Bucket: aws.String(s.Bucket),
		CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
			AllowedOrigins: []string{"*"},
			AllowedMethods: []string{"GET", "PUT", "POST", "DELETE", "HEAD"},
			AllowedHeaders: []string{"*"},
			ExposeHeaders:  []string{"ETag"},
			MaxAgeSeconds:  aws.Int32(3600),
		}}},
	})
	if err != nil {
		var ae smithy.APIError
		if !k.bucketCORS && errors.As(err, &ae) && ae.ErrorCode() == "NotImplemented" {
			// MinIO: CORS is server-wide (MINIO_API_CORS_ALLOW_ORIGIN=*).
			return nil
		}
		return fmt.Errorf("put bucket CORS on %s: %w", s.Bucket, err)
	}
	return nil
}

// stop ends the process: SIGTERM, then SIGKILL after stopTimeout, and waits
// for it to be reaped. It is safe to call more than once.
func (s *Server) stop(tb testing.TB, p *proc) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		tb.Logf("s3test: %s (pid %d) ignored SIGTERM for %v; killing it", s.Name, p.cmd.Process.Pid, stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// logTail returns the end of the server log.
func (s *Server) logTail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	off := max(fi.Size()-logTailBytes, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return "(log unreadable: " + err.Error() + ")"
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// binary finds the server binary, or skips (fails under CI) the test.
func binary(tb testing.TB, k kind) string {
	tb.Helper()
	if p := os.Getenv(k.envBin); p != "" {
		if err := testdep.Executable(p); err != nil {
			// Set explicitly yet wrong: a mistake, never a reason to skip.
			tb.Fatalf("s3test: %s=%s: %v", k.envBin, p, err)
		}
		return p
	}
	root, err := testdep.RepoRoot()
	if err != nil {
		missing(tb, k, err.Error())
		return ""
	}
	p := filepath.Join(root, ".tools", "bin", k.name)
	if err := testdep.Executable(p); err != nil {
		missing(tb, k, err.Error())
	}
	return p
}

func missing(tb testing.TB, k kind, why string) {
	tb.Helper()
	testdep.Missing(tb, fmt.Sprintf("s3test: %s binary not available (%s); run scripts/install-test-servers.sh or set %s", k.name, why, k.envBin))
}

// pickPorts is freePorts; tests replace it to provoke a port clash.
var pickPorts = freePorts

// freePorts returns n distinct loopback ports that were free a moment ago.
// They are all held open together so that they differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// randText returns n random characters of A-Z and 2-7.
func randText(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(rand.Text())
	}
	return b.String()[:n]
}
