// Package azuritetest starts Azurite's Blob service (the Azure Storage
// emulator, npm package azurite, pinned in testdata/package-lock.json) as a
// child process on 127.0.0.1 for a test, and stops it by its PID when the
// test ends.
//
// scripts/install-test-tools.sh installs Azurite into
// <repo>/.tools/azurite; PRESIGN_AZURITE_BIN overrides the path of its
// azurite-blob. Without it the test is skipped, and under CI=true it fails.
//
// Each server has its own account (a random name and key, through
// AZURITE_ACCOUNTS, so nothing works by the emulator's well-known key), its
// data in a temporary directory, strict mode (no --loose: an unsupported
// header or parameter is an error) and no --skipApiVersionCheck. The
// package signs its own requests with an account SAS it implements itself,
// independently of package azuresas, so tests can check what landed.
//
// Only tests import this package.
package azuritetest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"presign.dev/internal/testdep"
)

// Version is the x-ms-version of this package's requests and the signed
// version of its account SAS: Azurite 3.37.0's own.
const Version = "2026-06-06"

const (
	readyTimeout  = 60 * time.Second
	stopTimeout   = 10 * time.Second
	startAttempts = 3
	logTailBytes  = 8 << 10
)

// Server is one running Azurite Blob service.
type Server struct {
	// Endpoint is the Blob service's base URL:
	// "http://127.0.0.1:PORT/<account>" (https with StartOAuth).
	Endpoint    string
	AccountName string // 12 random lower-case letters
	AccountKey  string // base64 of 64 random bytes
	Container   string // created and empty at start
	// HTTPClient trusts the server's certificate (StartOAuth); with Start it
	// is a plain client. Either way it follows no redirects.
	HTTPClient *http.Client

	dir     string
	logPath string
	cmd     *exec.Cmd
}

// Start starts Azurite's Blob service over plain HTTP.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, false)
}

// StartOAuth starts Azurite's Blob service over HTTPS (a certificate for
// 127.0.0.1 made for it, which HTTPClient trusts) with --oauth basic:
// bearer tokens are accepted when their issuer, audience and lifetime are
// right (Azurite does not check their signature; see [Server.Token]), so
// Get User Delegation Key and user delegation SAS work.
func StartOAuth(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, true)
}

func start(tb testing.TB, oauth bool) *Server {
	tb.Helper()
	bin := binary(tb)
	s := &Server{
		AccountName: randLower(12),
		AccountKey:  base64.StdEncoding.EncodeToString(randBytes(64)),
		Container:   "presign-" + randLower(12),
		dir:         tb.TempDir(),
		HTTPClient: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	s.logPath = filepath.Join(s.dir, "azurite.log")
	var tlsArgs []string
	scheme := "http"
	if oauth {
		certFile, keyFile, pool := makeCert(tb, s.dir)
		tlsArgs = []string{"--cert", certFile, "--key", keyFile, "--oauth", "basic"}
		s.HTTPClient.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		scheme = "https"
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("azuritetest: end of the Azurite log (%s):\n%s", s.logPath, tail(s.logPath))
			tb.Logf("azuritetest: end of the Azurite debug log:\n%s", tail(filepath.Join(s.dir, "debug.log")))
		}
	})
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		data := filepath.Join(s.dir, "data"+strconv.Itoa(attempt))
		if err = os.MkdirAll(data, 0o755); err != nil {
			break
		}
		args := append([]string{
			"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
			"--location", data, "--debug", filepath.Join(s.dir, "debug.log"),
			"--disableTelemetry",
		}, tlsArgs...)
		if err = s.launch(tb, bin, args); err == nil {
			s.Endpoint = scheme + "://127.0.0.1:" + strconv.Itoa(port) + "/" + s.AccountName
			break
		}
		tb.Logf("azuritetest: attempt %d: %v", attempt, err)
	}
	if err != nil {
		tb.Fatalf("azuritetest: starting Azurite: %v", err)
	}
	s.CreateContainer(tb, s.Container)
	tb.Logf("azuritetest: Azurite pid %d at %s (container %s)", s.cmd.Process.Pid, s.Endpoint, s.Container)
	return s
}

// launch starts the process and waits until it says it listens; on failure
// the process is gone when it returns.
func (s *Server) launch(tb testing.TB, bin string, args []string) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	home, tmp := filepath.Join(s.dir, "home"), filepath.Join(s.dir, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			logf.Close()
			return err
		}
	}
	fmt.Fprintf(logf, "=== %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = s.dir
	// A fresh environment: nothing of the test's leaks into the server.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + tmp,
		"AZURITE_ACCOUNTS=" + s.AccountName + ":" + s.AccountKey,
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("exec %s: %w", bin, err)
	}
	done := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		// Copies the output to the log; ready when Azurite says it listens.
		defer logf.Close()
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if !said && strings.Contains(line, "successfully listens on") {
				said = true
				close(ready)
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	tb.Cleanup(func() { stop(cmd, done) })
	select {
	case <-ready:
		s.cmd = cmd
		return nil
	case <-done:
		return fmt.Errorf("azurite-blob exited before it listened (%v)", cmd.ProcessState)
	case <-time.After(readyTimeout):
		stop(cmd, done)
		return fmt.Errorf("azurite-blob not listening after %v", readyTimeout)
	}
}

// stop ends the process by its PID (SIGTERM, then SIGKILL after
// stopTimeout) and waits for it; done is closed when it has been reaped. It
// is safe to call more than once.
func stop(cmd *exec.Cmd, done chan struct{}) {
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// AccountSAS returns an account SAS for the Blob service (ss=b) with the
// permissions perms (e.g. "rwdlac") on the resource types srt (e.g. "sco"),
// valid for an hour. Its string to sign (sv 2020-12-06 and later) is
// account, sp, ss, srt, st, se, sip, spr, sv, ses, each followed by "\n".
func (s *Server) AccountSAS(perms, srt string) string {
	se := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	sts := strings.Join([]string{s.AccountName, perms, "b", srt, "", se, "", "", Version, "", ""}, "\n")
	key, _ := base64.StdEncoding.DecodeString(s.AccountKey)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(sts))
	q := url.Values{
		"sv": {Version}, "ss": {"b"}, "srt": {srt}, "sp": {perms}, "se": {se},
		"sig": {base64.StdEncoding.EncodeToString(mac.Sum(nil))},
	}
	return q.Encode()
}

// CreateContainer creates a container.
func (s *Server) CreateContainer(tb testing.TB, name string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPut, s.Endpoint+"/"+name+"?restype=container&"+s.AccountSAS("c", "c"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, body := s.Do(tb, req)
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("azuritetest: create container %s: %s\n%s", name, resp.Status, body)
	}
}

// Get reads a blob of s.Container with an account SAS, as a check
// independent of the SAS under test.
func (s *Server) Get(tb testing.TB, blob string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, s.Endpoint+"/"+s.Container+"/"+url.PathEscape(blob)+"?"+s.AccountSAS("r", "o"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s.Do(tb, req)
}

// Do sends req (its x-ms-version set when missing) and returns the answer
// and its whole body.
func (s *Server) Do(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	if req.Header.Get("x-ms-version") == "" {
		req.Header.Set("x-ms-version", Version)
	}
	resp, err := s.HTTPClient.Do(req)
	if err != nil {
		tb.Fatalf("azuritetest: %s: %v", req.Method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("azuritetest: reading the answer to %s: %v", req.Method, err)
	}
	return resp, body
}

// Token returns a bearer token that Azurite's basic OAuth accepts, for the
// principal oid of tenant tid, valid for an hour: an unsigned JWT with an
// Entra ID issuer and the audience https://storage.azure.com.
func (s *Server) Token(oid, tid string) string {
	now := time.Now().Unix()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(map[string]any{
		"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/" + tid + "/",
		"iat": now - 60, "nbf": now - 60, "exp": now + 3600, "oid": oid, "tid": tid,
	}) + "."
}

// makeCert writes a self-signed certificate for 127.0.0.1 and its key, and
// returns their paths and a pool that trusts it.
func makeCert(tb testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "azuritetest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// binary returns the path of azurite-blob, or skips (fails under CI=true).
func binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("PRESIGN_AZURITE_BIN"); p != "" {
		if err := testdep.Executable(p); err != nil {
			tb.Fatalf("azuritetest: PRESIGN_AZURITE_BIN=%s: %v", p, err)
		}
		return p
	}
	root, err := testdep.RepoRoot()
	if err == nil {
		p := filepath.Join(root, ".tools", "azurite", "node_modules", ".bin", "azurite-blob")
		if err = testdep.Executable(p); err == nil {
			return p
		}
	}
	testdep.Missing(tb, fmt.Sprintf("azuritetest: Azurite not installed (%v); scripts/install-test-tools.sh installs it, or set PRESIGN_AZURITE_BIN", err))
	return ""
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(data) > logTailBytes {
		data = data[len(data)-logTailBytes:]
	}
	return string(data)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randLower(n int) string {
	b := randBytes(n)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}
