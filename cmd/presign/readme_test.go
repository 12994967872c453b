//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/e2e"
)

// TestREADME runs every command the README shows: each fenced ```sh block of
// README.md, in order, with `bash -euo pipefail`, as a reader would paste it
// into a new shell. A block passes when it exits 0 (or, for a server, when it
// answers), and the checks in readmeChecks look at what the blocks print and
// use the URLs they get against the store. So the README cannot drift from
// what presign does.
//
// Where the blocks run: a fresh directory that holds a symlink to every
// top-level entry of the repository but .git, .tools, dist and .presign-dev,
// so that relative paths (examples/…, scripts/…, cmd/…) work as from the
// repository root while `presign dev` keeps its state in that directory's
// own .presign-dev (the developer's is neither used nor touched) and
// scripts/build-lambda.sh writes that directory's dist/. HOME and TMPDIR are
// temporary too; the Go caches and settings (GOPATH, GOMODCACHE, GOCACHE,
// GOENV) stay the developer's, so nothing is downloaded or rebuilt. The
// environment is otherwise minimal: no AWS_*, PRESIGN_*, KEY or the like
// leaks in from the test's own.
//
// `presign` is built once (go build -o DIR/presign ./cmd/presign) and DIR is
// first on PATH; a block's `go run ./cmd/presign ARGS` runs as `presign ARGS`,
// the same program without compiling it again per block.
//
// Annotations, HTML comments on the lines just before a block (invisible on
// GitHub), say how to run it:
//
//	<!-- readme-test: background until=URL -->
//	    The block starts a server: it runs in the background in its own
//	    process group until the test ends (then the group gets SIGTERM, and
//	    SIGKILL if it lingers), and the test waits, polling with a deadline,
//	    until URL answers 200 before it goes on.
//	<!-- readme-test: env NAME=VALUE ... -->
//	    Extra environment for the block, e.g. PRESIGN_ADDR=127.0.0.1:8081 to
//	    keep a server on the loopback interface and off the port presign dev
//	    holds. ${TEST_…} in a VALUE is expanded by the test (see below).
//	<!-- readme-test: replace OLD NEW -->
//	    Replace the text OLD (which must occur) with NEW in the block before
//	    running it: how a block that addresses "a real store" or your
//	    identity provider runs against local real ones. NEW usually names a
//	    $TEST_… variable, which bash expands.
//	<!-- readme-test: skip REASON -->
//	    Do not run the block. Only for commands that need a cloud account:
//	    a skipped block may hold nothing but the sam, gcloud and aws CLIs,
//	    assignments of plain values or of their output, and comments. The one
//	    exception is `scripts/test.sh` alone, which runs this test (running it
//	    from here would recurse). A skip without a REASON fails the test.
//
// Every block runs with these variables, which annotations point blocks at:
//
//	TEST_S3_ENDPOINT, TEST_S3_BUCKET, TEST_S3_ACCESS_KEY_ID,
//	TEST_S3_SECRET_ACCESS_KEY, TEST_DEV_API_KEY
//	    the store and API key of the `presign dev` the first block started
//	    (embedded Versity Gateway, a real S3 server), once it is ready;
//	TEST_ALICE_JWT
//	    an RS256 JWT for sub "alice", aud "photos-app", from a local issuer
//	    (e2e.TokenIssuer, JWKS on 127.0.0.1);
//	TEST_WEBAPP_ENV
//	    an env file like examples/webapp.env (the same names) that points
//	    examples/webapp.yaml at that store and that issuer.
//
// The servers use the README's fixed ports (8080, 9000) and 8081, 8082 for
// the two `presign serve` blocks; a port already taken fails the test,
// naming it. curl, openssl, sha256sum and zip (for build-lambda.sh) are
// needed: without one the test is skipped, or fails under CI=true.
func TestREADME(t *testing.T) {
	tools := []string{"bash", "curl", "grep", "sed", "cut", "openssl", "sha256sum", "zip", "go"}
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("TestREADME runs the README's commands, which need these, not on PATH: %s", strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s [CI: a missing test dependency is a failure]", msg)
		}
		t.Skip(msg)
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseREADME(string(src))
	if err != nil {
		t.Fatal(err)
	}
	// Each check looks at the one block it names; a check that finds no
	// block means the README lost a command it promises.
	checks := map[int]readmeCheck{}
	for _, c := range readmeChecks {
		var found []int
		for i, b := range blocks {
			if strings.Contains(b.text, c.match) {
				found = append(found, i)
			}
		}
		if len(found) != 1 {
			t.Fatalf("check %q: %d README blocks contain %q, want exactly 1", c.name, len(found), c.match)
		}
		if blocks[found[0]].skip != "" {
			t.Fatalf("check %q: its block (README.md:%d) is skipped", c.name, blocks[found[0]].line)
		}
		checks[found[0]] = c
	}
	ports := map[string]bool{}
	for _, b := range blocks {
		if b.skip != "" {
			continue
		}
		for _, s := range append([]string{b.text, b.until}, b.env...) {
			for _, m := range loopbackPort.FindAllStringSubmatch(s, -1) {
				ports[m[1]] = true
			}
		}
	}
	for _, p := range slices.Sorted(maps.Keys(ports)) {
		ln, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			t.Fatalf("port %s is taken (%v): the README's commands use 127.0.0.1:%s; stop what listens there (a presign dev?) and rerun", p, err, p)
		}
		ln.Close()
	}

	tmp := t.TempDir()
	bin, work, home, tmpDir := filepath.Join(tmp, "bin"), filepath.Join(tmp, "work"), filepath.Join(tmp, "home"), filepath.Join(tmp, "tmp")
	for _, d := range []string{bin, work, home, tmpDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "presign"), "./cmd/presign")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/presign: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", ".tools", "dist", ".presign-dev":
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}

	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + tmpDir}
	goEnv, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE", "GOENV").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	for i, v := range strings.Split(strings.TrimSpace(string(goEnv)), "\n") {
		env = append(env, []string{"GOPATH", "GOMODCACHE", "GOCACHE", "GOENV"}[i]+"="+v)
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GO") && !slices.Contains([]string{"GOPATH", "GOMODCACHE", "GOCACHE", "GOENV"}, name):
			env = append(env, kv) // GOPROXY, GOFLAGS, GOTOOLCHAIN, ...: for build-lambda.sh's go build
		case slices.Contains([]string{"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"}, name):
			env = append(env, kv) // the same; curl reaches 127.0.0.1 directly (below)
		}
	}
	noProxy := "127.0.0.1,localhost"
	if v := os.Getenv("NO_PROXY") + os.Getenv("no_proxy"); v != "" {
		noProxy += "," + v
	}
	env = append(env, "NO_PROXY="+noProxy, "no_proxy="+noProxy)

	r := &readmeRun{t: t, work: work, tmp: tmp, vars: map[string]string{}}
	ti := e2e.NewTokenIssuer(t, "photos-app")
	r.issuer = ti
	r.vars["TEST_ALICE_JWT"] = ti.Token(t, "alice", nil)

	for i, b := range blocks {
		if b.skip != "" {
			t.Logf("README.md:%d: skipped (%s)", b.line, b.skip)
			continue
		}
		script, err := b.script()
		if err != nil {
			t.Fatalf("README.md:%d: %v", b.line, err)
		}
		benv := slices.Clone(env)
		for k, v := range r.vars {
			benv = append(benv, k+"="+v)
		}
		for _, kv := range b.env {
			var unknown []string
			kv = os.Expand(kv, func(name string) string {
				v, ok := r.vars[name]
				if !ok {
					unknown = append(unknown, name)
				}
				return v
			})
			if len(unknown) > 0 {
				t.Fatalf("README.md:%d: env annotation names %s, which the test does not set (yet)", b.line, strings.Join(unknown, ", "))
			}
			benv = append(benv, kv)
		}
		began := time.Now()
		var out string
		if b.until != "" {
			out = r.background(b, script, benv)
		} else {
			out = r.foreground(b, script, benv)
		}
		t.Logf("README.md:%d: ok in %v", b.line, time.Since(began).Round(time.Millisecond))
		r.loadDevState()
		if c, ok := checks[i]; ok {
			c.check(r, out)
			if t.Failed() {
				t.Fatalf("README.md:%d: check %q failed; the block printed:\n%s", b.line, c.name, out)
			}
		}
	}
}

// loopbackPort finds the fixed ports the README's commands use.
var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:([0-9]+)`)

// readmeBlock is one ```sh block of the README and its annotations.
type readmeBlock struct {
	line    int    // of the opening fence, 1-based
	text    string // the commands, as the README shows them
	until   string // background: the URL that answers once it serves
	skip    string // the reason, for a skipped block
	env     []string
	replace [][2]string
}

// script returns the block as it runs: the replacements made and `go run
// ./cmd/presign` as the prebuilt presign.
func (b readmeBlock) script() (string, error) {
	s := b.text
	for _, r := range b.replace {
		if !strings.Contains(s, r[0]) {
			return "", fmt.Errorf("replace %q: the block has no such text", r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	s = strings.ReplaceAll(s, "go run ./cmd/presign ", "presign ")
	if strings.Contains(s, "go run") {
		return "", errors.New("the test runs `go run ./cmd/presign ARGS` as the prebuilt presign, and no other go run")
	}
	return s, nil
}

// parseREADME returns the README's ```sh blocks with their annotations. It
// fails on an annotation that is not just before an sh block, an unknown
// one, a skip outside its rules (checkSkip), and on shell blocks fenced as
// bash, shell or console, which would escape the test.
func parseREADME(src string) ([]readmeBlock, error) {
	lines := strings.Split(src, "\n")
	var blocks []readmeBlock
	var pending []string // annotations waiting for their block
	pendingLine := 0
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if rest, ok := strings.CutPrefix(line, "<!-- readme-test:"); ok {
			body, ok := strings.CutSuffix(rest, "-->")
			if !ok {
				return nil, fmt.Errorf("README.md:%d: an annotation is one line ending in -->", i+1)
			}
			if len(pending) == 0 {
				pendingLine = i + 1
			}
			pending = append(pending, strings.TrimSpace(body))
			continue
		}
		info, fence := strings.CutPrefix(line, "```")
		if !fence {
			if len(pending) > 0 {
				return nil, fmt.Errorf("README.md:%d: annotation %q is not on the lines just before a ```sh block", pendingLine, pending[0])
			}
			continue
		}
		start := i + 1
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("README.md:%d: the block is not closed", start)
		}
		switch info = strings.TrimSpace(info); info {
		case "sh":
		case "bash", "shell", "console", "zsh", "shell-session", "":
			return nil, fmt.Errorf("README.md:%d: a ```%s block: fence shell commands as ```sh, so that TestREADME runs them (other blocks need a language: json, yaml, go, js)", start, info)
		default:
			if len(pending) > 0 {
				return nil, fmt.Errorf("README.md:%d: annotations before a ```%s block, which is not run", pendingLine, info)
			}
			continue
		}
		b := readmeBlock{line: start, text: strings.Join(body, "\n") + "\n"}
		for _, a := range pending {
			if err := b.annotate(a); err != nil {
				return nil, fmt.Errorf("README.md:%d: %v", pendingLine, err)
			}
		}
		pending = nil
		if b.skip != "" && (b.until != "" || len(b.env) > 0 || len(b.replace) > 0) {
			return nil, fmt.Errorf("README.md:%d: a skipped block has other annotations", start)
		}
		if b.skip != "" {
			if err := checkSkip(b.text); err != nil {
				return nil, fmt.Errorf("README.md:%d: skip %q: %v", start, b.skip, err)
			}
		}
		blocks = append(blocks, b)
	}
	if len(pending) > 0 {
		return nil, fmt.Errorf("README.md:%d: annotation %q is not before a ```sh block", pendingLine, pending[0])
	}
	return blocks, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// annotate applies one annotation (the text between "readme-test:" and "-->").
func (b *readmeBlock) annotate(a string) error {
	verb, rest, _ := strings.Cut(a, " ")
	rest = strings.TrimSpace(rest)
	args := strings.Fields(rest)
	switch verb {
	case "background":
		u, ok := strings.CutPrefix(rest, "until=")
		if b.until != "" || !ok || len(args) != 1 {
			return fmt.Errorf("use one <!-- readme-test: background until=URL -->, not %q", a)
		}
		if p, err := url.Parse(u); err != nil || p.Scheme != "http" || p.Hostname() != "127.0.0.1" || p.Port() == "" {
			return fmt.Errorf("background until=%s: want an http://127.0.0.1:PORT/… URL", u)
		}
		b.until = u
	case "skip":
		if rest == "" {
			return errors.New("a skip needs a reason: <!-- readme-test: skip REASON -->")
		}
		if b.skip != "" {
			return errors.New("two skips")
		}
		b.skip = rest
	case "env":
		if len(args) == 0 {
			return errors.New("env needs NAME=VALUE")
		}
		for _, kv := range args {
			if name, _, ok := strings.Cut(kv, "="); !ok || !envName.MatchString(name) {
				return fmt.Errorf("env %q: want NAME=VALUE", kv)
			}
		}
		b.env = append(b.env, args...)
	case "replace":
		if len(args) != 2 {
			return fmt.Errorf("use <!-- readme-test: replace OLD NEW --> (two words), not %q", a)
		}
		b.replace = append(b.replace, [2]string{args[0], args[1]})
	default:
		return fmt.Errorf("unknown annotation %q (background, env, replace, skip)", a)
	}
	return nil
}

var (
	// cloudCLI starts a command of a cloud provider's CLI.
	cloudCLI = regexp.MustCompile(`^(sam|gcloud|aws)(\s|$)`)
	// cloudAssign assigns the output of one.
	cloudAssign = regexp.MustCompile(`^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=\$\((sam|gcloud|aws)\s[^()]*\)$`)
	// plainAssign assigns plain values.
	plainAssign = regexp.MustCompile(`^(export\s+)?([A-Za-z_][A-Za-z0-9_]*=[^\s$()]*\s*)+$`)
)

// checkSkip holds a skipped block to what may be skipped: scripts/test.sh
// alone (it runs TestREADME), or commands that need a cloud account.
func checkSkip(text string) error {
	if strings.TrimSpace(text) == "scripts/test.sh" {
		return nil
	}
	joined := strings.ReplaceAll(text, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		bare, err := unquote(line)
		if err != nil {
			return err
		}
		bare = strings.TrimSpace(bare)
		if bare == "" {
			continue
		}
		if strings.ContainsAny(bare, ";&|<>`") {
			return fmt.Errorf("%q: one command per line, without ; & | < > or backquotes", line)
		}
		switch {
		case cloudCLI.MatchString(bare) && !strings.Contains(bare, "$("):
		case cloudAssign.MatchString(bare), plainAssign.MatchString(bare):
		default:
			return fmt.Errorf("%q is not a sam, gcloud or aws command: only those may be skipped (as they need a cloud account); run it, or point it at a local server with replace/env annotations", strings.TrimSpace(line))
		}
	}
	return nil
}

// unquote returns line with each quoted string replaced by Q and its
// comment removed; a quoted string holding $( or a backquote is an error.
func unquote(line string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return "", fmt.Errorf("%q: unbalanced quotes", line)
			}
			q := line[i+1 : i+1+j]
			if c == '"' && (strings.Contains(q, "$(") || strings.Contains(q, "`")) {
				return "", fmt.Errorf("%q: a command substitution in quotes", line)
			}
			b.WriteByte('Q')
			i += j + 1
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// readmeRun is the state of one TestREADME.
type readmeRun struct {
	t         *testing.T
	work, tmp string
	vars      map[string]string // TEST_*: the environment of every block
	issuer    *e2e.TokenIssuer
}

// blockTimeout bounds one block (build-lambda.sh, cold, compiles for a minute).
const blockTimeout = 5 * time.Minute

func (r *readmeRun) command(ctx context.Context, script string, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = r.work
	cmd.Env = env
	// Its own process group, which is what gets stopped; and SIGKILL if the
	// test binary dies without its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// foreground runs a block to its end and returns its stdout.
func (r *readmeRun) foreground(b readmeBlock, script string, env []string) string {
	t := r.t
	ctx, cancel := context.WithTimeout(t.Context(), blockTimeout)
	defer cancel()
	cmd := r.command(ctx, script, env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("README.md:%d: %v", b.line, err)
	}
	err := cmd.Wait()
	// Whatever the block left running in its group goes with it.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("README.md:%d: the block failed (%v):\n%s\nstdout:\n%s\nstderr:\n%s", b.line, err, script, &stdout, &stderr)
	}
	return stdout.String()
}

// background starts a server block, stops it with the test, and returns its
// output so far once its URL answers.
func (r *readmeRun) background(b readmeBlock, script string, env []string) string {
	t := r.t
	logPath := filepath.Join(r.tmp, fmt.Sprintf("block-%d.log", b.line))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close() // the child has its own descriptor
	cmd := r.command(context.Background(), script, env)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("README.md:%d: %v", b.line, err)
	}
	pid := cmd.Process.Pid
	readLog := func() string { out, _ := os.ReadFile(logPath); return string(out) }
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	t.Cleanup(func() {
		if exited {
			return
		}
		select {
		case err := <-done:
			t.Errorf("README.md:%d: the server exited during the test (%v); its output:\n%s", b.line, err, readLog())
			return
		default:
		}
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("README.md:%d: process group %d ignored SIGTERM for 15s; killing it", b.line, pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL) // stragglers of the group
	})

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		resp, err := client.Get(b.until)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return readLog()
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case err := <-done:
			exited = true
			t.Fatalf("README.md:%d: the server exited (%v) before %s answered:\n%s\noutput:\n%s", b.line, err, b.until, script, readLog())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("README.md:%d: %s did not answer 200 within 60s (last: %s):\n%s\noutput:\n%s", b.line, b.until, last, script, readLog())
		}
	}
}

// loadDevState sets the TEST_* variables of `presign dev`'s store and key
// once it has written them, and the env file for examples/webapp.yaml.
func (r *readmeRun) loadDevState() {
	t := r.t
	if _, ok := r.vars["TEST_DEV_API_KEY"]; ok {
		return
	}
	raw, err := os.ReadFile(filepath.Join(r.work, ".presign-dev", "dev.json"))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var st DevState
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if err != nil {
		t.Fatalf(".presign-dev/dev.json: %v", err)
	}
	r.vars["TEST_DEV_API_KEY"] = st.APIKey
	r.vars["TEST_S3_ENDPOINT"] = st.S3Endpoint
	r.vars["TEST_S3_BUCKET"] = st.Bucket
	r.vars["TEST_S3_ACCESS_KEY_ID"] = st.AccessKeyID
	r.vars["TEST_S3_SECRET_ACCESS_KEY"] = st.SecretAccessKey

	// The same names as examples/webapp.env, with values for this store and
	// issuer: a name the test does not know means the file changed.
	values := map[string]string{
		"S3_ENDPOINT": st.S3Endpoint, "S3_BUCKET": st.Bucket,
		"S3_ACCESS_KEY_ID": st.AccessKeyID, "S3_SECRET_ACCESS_KEY": st.SecretAccessKey,
		"JWT_ISSUER": r.issuer.Issuer, "JWT_JWKS_URL": r.issuer.JWKSURL,
	}
	names, err := envFileNames(filepath.Join(r.work, "examples", "webapp.env"))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, name := range names {
		v, ok := values[name]
		if !ok {
			t.Fatalf("examples/webapp.env sets %s, for which TestREADME has no local value", name)
		}
		fmt.Fprintf(&out, "%s=%s\n", name, v)
	}
	path := filepath.Join(r.tmp, "webapp-test.env")
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	r.vars["TEST_WEBAPP_ENV"] = path
}

// envFileNames returns the names an env file sets, in order.
func envFileNames(path string) ([]string, error) {
	vals, err := readEnvFile(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(vals))
	for i, kv := range vals {
		names[i] = kv[0]
	}
	return names, nil
}

// readEnvFile reads NAME=VALUE lines; # starts a comment line.
func readEnvFile(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !envName.MatchString(name) || strings.ContainsAny(value, " \t'\"$`") {
			return nil, fmt.Errorf("%s:%d: want NAME=VALUE, a value without spaces, quotes or $ (so that both `. FILE` and `env $(cat FILE)` read it)", path, n)
		}
		out = append(out, [2]string{name, value})
	}
	return out, sc.Err()
}

// readmeCheck looks at what the block that contains match printed.
type readmeCheck struct {
	name  string
	match string
	check func(r *readmeRun, out string)
}

var readmeChecks = []readmeCheck{
	{"PUT then GET prints the object back, stored as text/plain; the listing shows it", `--data-binary 'hello, presign'`, func(r *readmeRun, out string) {
		if !strings.Contains(out, "hello, presign") {
			r.t.Error("the GET did not print hello, presign")
		}
		status, h, _ := r.use("HEAD", r.devGrant("HEAD", "hello.txt"), nil, nil)
		if status != 200 || h.Get("Content-Type") != "text/plain" {
			r.t.Errorf("HEAD hello.txt: %d, Content-Type %q, want 200 text/plain", status, h.Get("Content-Type"))
		}
		want := `"url":"` + r.vars["TEST_S3_ENDPOINT"] + "/presign-dev/cat.png?X-Amz-"
		if !strings.Contains(out, want) {
			r.t.Errorf("the JSON API printed no URL %s…", want)
		}
		if !strings.Contains(out, "<ListBucketResult") || !strings.Contains(out, "<Prefix>hello</Prefix>") || !strings.Contains(out, "<Key>hello.txt</Key>") {
			r.t.Errorf("the listing of the prefix hello does not show hello.txt:\n%s", out)
		}
	}},
	{"a multipart upload in three parts lands whole", "split -b 5242880", func(r *readmeRun, out string) {
		if !strings.Contains(out, `"size":12000000`) || !strings.Contains(out, `-3\""`) || strings.Count(out, `"part_number":`) != 3 {
			r.t.Errorf("the list and complete answers are not those of a three-part upload:\n%s", out)
		}
		want, err := os.ReadFile(filepath.Join(r.work, "big.bin"))
		if err != nil {
			r.t.Fatal(err)
		}
		if status, h, body := r.use("GET", r.devGrant("GET", "videos/big.bin"), nil, nil); status != 200 || !bytes.Equal(body, want) || h.Get("Content-Type") != "video/mp4" {
			r.t.Errorf("GET videos/big.bin: %d, %d bytes, %q; want the 12,000,000 bytes of big.bin as video/mp4", status, len(body), h.Get("Content-Type"))
		}
	}},
	{"the POST form lands (201)", "-F file=@report.pdf", func(r *readmeRun, out string) {
		if !strings.HasSuffix(out, "</PostResponse>201\n") || !strings.Contains(out, "<Key>report.pdf</Key>") {
			r.t.Error("no 201 with a PostResponse for report.pdf")
		}
		if status, _, body := r.use("GET", r.devGrant("GET", "report.pdf"), nil, nil); status != 200 || string(body) != "a tiny report\n" {
			r.t.Errorf("GET report.pdf: %d %q", status, body)
		}
	}},
	{"presign serve against a real store grants URLs that work", "PRESIGN_API_KEYS=sha256:", func(r *readmeRun, out string) {
		m := regexp.MustCompile(`API key: ([0-9a-f]{48})\n`).FindStringSubmatch(out)
		if m == nil {
			r.t.Fatal("no API key printed")
		}
		body := []byte("served by presign serve\n")
		g := r.grant("http://127.0.0.1:8081", m[1], map[string]any{"op": "put", "key": "readme/serve.txt", "content_type": "text/plain", "content_length": len(body)})
		if status, _, resp := r.use(g.Method, g.URL, g.Headers, body); status != 200 {
			r.t.Errorf("PUT with the grant of presign serve: %d %s", status, resp)
		}
		if status, _, got := r.use("GET", r.devGrant("GET", "readme/serve.txt"), nil, nil); status != 200 || !bytes.Equal(got, body) {
			r.t.Errorf("GET readme/serve.txt: %d %q", status, got)
		}
	}},
	{"presign url signs URLs the store accepts", "presign url photos/cat.jpg", func(r *readmeRun, out string) {
		first, rest, _ := strings.Cut(out, "\n")
		if !strings.HasPrefix(first, r.vars["TEST_S3_ENDPOINT"]+"/presign-dev/photos/cat.jpg?X-Amz-") {
			r.t.Fatalf("first line is no GET URL: %q", first)
		}
		// There is no such object: 404, not 403, says the signature holds.
		if status, _, body := r.use("GET", first, nil, nil); status != 404 {
			r.t.Errorf("GET photos/cat.jpg: %d %s, want 404 NoSuchKey", status, body)
		}
		var g httpapi.PresignResponse
		if err := json.NewDecoder(strings.NewReader(rest)).Decode(&g); err != nil {
			r.t.Fatalf("-o json: %v", err)
		}
		if status, _, body := r.use(g.Method, g.URL, g.Headers, bytes.Repeat([]byte{0x89}, 1234)); g.Method != "PUT" || status != 200 {
			r.t.Errorf("%s with the -o json grant: %d %s", g.Method, status, body)
		}
		if !strings.Contains(rest, "presign dev (commit ") {
			r.t.Error("presign version printed no version line")
		}
	}},
	{"the web app's rules: alice uploads under users/alice/, anyone reads public/", "$ALICE_JWT", func(r *readmeRun, out string) {
		dec := json.NewDecoder(strings.NewReader(out))
		var up, pub httpapi.PresignResponse
		if err := dec.Decode(&up); err != nil {
			r.t.Fatalf("alice's grant: %v", err)
		}
		if err := dec.Decode(&pub); err != nil {
			r.t.Fatalf("the public grant: %v", err)
		}
		if !strings.HasPrefix(up.Key, "users/alice/") || !strings.HasSuffix(up.Key, ".png") || up.Headers["If-None-Match"] != "*" {
			r.t.Errorf("alice's grant: %+v", up)
		}
		png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 48213-8)...)
		if status, _, body := r.use(up.Method, up.URL, up.Headers, png); status != 200 {
			r.t.Errorf("alice's PUT: %d %s", status, body)
		}
		if pub.Key != "public/logo.png" || !strings.Contains(pub.URL, "/public/logo.png?X-Amz-") {
			r.t.Errorf("the public grant: %+v", pub)
		}
	}},
	{"config check and policy explain run on the example", "policy explain --config examples/webapp.yaml", func(r *readmeRun, out string) {
		for _, want := range []string{"secret_access_key: <redacted>", "name: own-files", `"allowed": false`, `rule \"own-files\" allows`} {
			if !strings.Contains(out, want) {
				r.t.Errorf("output lacks %s", want)
			}
		}
	}},
	{"build-lambda.sh builds the zip", "scripts/build-lambda.sh arm64", func(r *readmeRun, out string) {
		if _, err := os.Stat(filepath.Join(r.work, "dist", "presign-lambda-arm64.zip")); err != nil || !strings.Contains(out, "dist/presign-lambda-arm64.zip") {
			r.t.Errorf("no dist/presign-lambda-arm64.zip: %v", err)
		}
	}},
	{"the tutorial route of a deployment, here presign dev's", "${FUNCTION_URL}?key=hello.txt&method=GET", func(r *readmeRun, out string) {
		if status, _, body := r.use("GET", out, nil, nil); status != 200 || string(body) != "hello, presign" {
			r.t.Errorf("GET %q: %d %q", out, status, body)
		}
	}},
}

var readmeClient = &http.Client{Timeout: 10 * time.Second}

// use sends a request to a presigned URL with headers and body.
func (r *readmeRun) use(method, rawURL string, headers map[string]string, body []byte) (int, http.Header, []byte) {
	r.t.Helper()
	req, err := http.NewRequestWithContext(r.t.Context(), method, strings.TrimSpace(rawURL), bytes.NewReader(body))
	if err != nil {
		r.t.Fatalf("%s %q: %v", method, rawURL, err)
	}
	for k, v := range headers {
		if k == "Content-Length" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n != int64(len(body)) {
				r.t.Fatalf("Content-Length %s for a body of %d bytes", v, len(body))
			}
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := readmeClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// devGrant asks presign dev for a URL on its tutorial route.
func (r *readmeRun) devGrant(method, key string) string {
	r.t.Helper()
	req, err := http.NewRequestWithContext(r.t.Context(), "GET", "http://127.0.0.1:8080/?key="+url.QueryEscape(key)+"&method="+method, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.vars["TEST_DEV_API_KEY"])
	resp, err := readmeClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		r.t.Fatalf("presign dev, %s %s: %d %s", method, key, resp.StatusCode, b)
	}
	return string(b)
}

// grant asks the API at base for a grant with the JSON API.
func (r *readmeRun) grant(base, key string, req map[string]any) httpapi.PresignResponse {
	r.t.Helper()
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequestWithContext(r.t.Context(), "POST", base+"/v1/presign", bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	hreq.Header.Set("Authorization", "Bearer "+key)
	resp, err := readmeClient.Do(hreq)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var g httpapi.PresignResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &g) != nil {
		r.t.Fatalf("POST %s/v1/presign: %d %s", base, resp.StatusCode, b)
	}
	return g
}

// TestREADMESkipRules: a skip cannot hide a command that could run here.
func TestREADMESkipRules(t *testing.T) {
	for _, tt := range []struct {
		block string
		ok    bool
	}{
		{"scripts/test.sh\n", true},
		{"sam deploy --guided --template-file deploy/aws/template.yaml\n", true},
		{"# a comment\nREGION=us-east-1\ngcloud run deploy presign --source . --region $REGION\n", true},
		{"URL=$(aws cloudformation describe-stacks --stack-name presign \\\n  --query \"Stacks[0].Outputs[?OutputKey=='FunctionUrl'].OutputValue\" --output text)   # ends with /\n", true},
		{"curl -s http://example.com/\n", false},
		{"scripts/test.sh\ncurl -s http://example.com/\n", false},
		{"aws s3 ls; rm -rf dist\n", false},
		{"aws s3 ls && curl http://x\n", false},
		{"aws s3 cp \"$(curl http://x)\" .\n", false},
		{"X=$(curl http://x)\n", false},
		{"export A=1 B=$(openssl rand -hex 8)\n", false},
		{"presign url k   # aws\n", false},
	} {
		if err := checkSkip(tt.block); (err == nil) != tt.ok {
			t.Errorf("checkSkip(%q) = %v, want ok %v", tt.block, err, tt.ok)
		}
	}
	for _, src := range []string{
		"<!-- readme-test: skip -->\n```sh\naws s3 ls\n```\n",
		"<!-- readme-test: skip needs AWS -->\n```sh\ncurl http://x\n```\n",
		"<!-- readme-test: skip needs AWS -->\n\n```sh\naws s3 ls\n```\n",
		"<!-- readme-test: skip needs AWS -->\n```json\n{}\n```\n",
		"<!-- readme-test: bogus -->\n```sh\ntrue\n```\n",
		"<!-- readme-test: background -->\n```sh\ntrue\n```\n",
		"```bash\ntrue\n```\n",
		"```sh\ntrue\n",
	} {
		if _, err := parseREADME(src); err == nil {
			t.Errorf("parseREADME accepted %q", src)
		}
	}
	blocks, err := parseREADME("text\n<!-- readme-test: background until=http://127.0.0.1:8080/healthz -->\n<!-- readme-test: env A=1 -->\n```sh\ngo run ./cmd/presign dev\n```\n```json\n{}\n```\n")
	if err != nil || len(blocks) != 1 || blocks[0].until != "http://127.0.0.1:8080/healthz" || !slices.Equal(blocks[0].env, []string{"A=1"}) || blocks[0].line != 4 {
		t.Errorf("parseREADME: %+v, %v", blocks, err)
	}
	if s, err := blocks[0].script(); err != nil || s != "presign dev\n" {
		t.Errorf("script: %q, %v", s, err)
	}
}

// TestExampleEnvFiles: examples/NAME.env gives every ${env:…} that
// examples/NAME.yaml uses a placeholder with which the file is valid, so
// that the README's `config check` and `policy explain` run as written.
func TestExampleEnvFiles(t *testing.T) {
	ref := regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)
	for _, name := range []string{"webapp", "presign"} {
		t.Run(name, func(t *testing.T) {
			vals, err := readEnvFile("../../examples/" + name + ".env")
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for _, kv := range vals {
				env[kv[0]] = kv[1]
			}
			yaml, err := os.ReadFile("../../examples/" + name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(yaml), "\n") {
				if i := strings.Index(line, "#"); i >= 0 {
					line = line[:i] // references in comments are examples
				}
				for _, m := range ref.FindAllStringSubmatch(line, -1) {
					if _, ok := env[m[1]]; !ok {
						t.Errorf("examples/%s.yaml uses ${env:%s}, which examples/%s.env does not set", name, m[1], name)
					}
				}
			}
			c, _, _ := testCLI(env)
			if err := c.run(context.Background(), []string{"config", "check", "../../examples/" + name + ".yaml"}); err != nil {
				t.Errorf("config check with examples/%s.env: %v", name, err)
			}
		})
	}
}
