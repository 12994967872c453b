// Command httpbench runs wrk against a trivial net/http server and one or
// more builds of `presign serve` in the same run, on loopback, alternating
// the servers round by round, and prints requests per second, CPU time per
// request, peak RSS (VmHWM) and each presign build's ratios to the trivial
// server. scripts/bench-http.sh builds the servers and runs it; see
// docs/benchmarks.md ("Issue 12: HTTP speed and memory").
//
// Each round starts every server afresh (in a rotated order), and for each
// it runs, with wrk at -conns connections: a warm-up of every route, then
// every route for -duration, then every route at -hwm-conns connections for
// -hwm-duration; VmHWM is read at the end, so it is the peak of the whole
// round, which the -hwm-conns runs dominate. Servers are stopped by PID.
//
// presign runs with the audit log on: JSON at level info, written to a
// file in a temporary directory (-log file, removed after each server) or
// to /dev/null (-log null). The trivial server logs nothing.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// The API key the harness configures and sends (a benchmark's, never a
// deployment's).
const apiKey = "bench-key-0123456789abcdef0123456789abcdef"

// route is one request that wrk repeats.
type route struct {
	name   string
	method string
	path   string
	body   string
}

var routes = []route{
	{name: "tutorial-get", method: "GET", path: "/?key=photos/2026/cat.jpg&method=GET"},
	// The tutorial's method=POST is a presigned PUT (httpapi tutorialMethods).
	{name: "tutorial-put", method: "GET", path: "/?key=photos/2026/cat.jpg&method=POST"},
	{name: "v1-presign", method: "POST", path: "/v1/presign",
		body: `{"op":"put","key":"photos/2026/cat picture+1.jpg","content_type":"image/jpeg","content_length":123456}`},
}

// server is one program under test.
type server struct {
	name    string
	bin     string
	trivial bool
}

// result is one server's round.
type result struct {
	rps    map[string]float64 // by route, at -conns
	cpuUS  map[string]float64 // CPU µs (user+system) per request, by route
	rps256 map[string]float64
	hwmKiB int64
}

type options struct {
	rounds                int
	duration, warmup, hwm time.Duration
	conns, hwmConns       int
	threads               int
	serverCPU, wrkCPU     string
	log                   string
	work                  string
}

func main() {
	var o options
	var presigns multiFlag
	trivial := flag.String("trivial", "", "the trivial server's binary (bench/cmd/trivial)")
	flag.Var(&presigns, "presign", "NAME=BINARY of a presign build; repeat to compare builds in one run")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds; every server runs once a round")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "wrk duration per route at -conns")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "wrk warm-up per route")
	flag.DurationVar(&o.hwm, "hwm-duration", 3*time.Second, "wrk duration per route at -hwm-conns")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections")
	flag.IntVar(&o.hwmConns, "hwm-conns", 256, "wrk connections of the peak-RSS runs")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads")
	flag.StringVar(&o.serverCPU, "server-cpu", "0", "taskset CPU list of the servers (\"\": not pinned)")
	flag.StringVar(&o.wrkCPU, "wrk-cpu", "1", "taskset CPU list of wrk (\"\": not pinned)")
	flag.StringVar(&o.log, "log", "file", "presign's audit log: file (a temporary file) or null (/dev/null)")
	profile := flag.String("profile", "", "profile mode: write CPU and allocation profiles of each route into this directory; -presign is a bench/cmd/profserve build")
	flag.Parse()
	if *trivial == "" || len(presigns) == 0 || (o.log != "file" && o.log != "null") {
		fmt.Fprintln(os.Stderr, "usage: httpbench -trivial BIN -presign NAME=BIN [-presign NAME=BIN ...] [flags]")
		os.Exit(2)
	}
	servers := []server{{name: "trivial", bin: *trivial, trivial: true}}
	for _, p := range presigns {
		name, bin, ok := strings.Cut(p, "=")
		if !ok {
			name, bin = "presign", p
		}
		servers = append(servers, server{name: name, bin: bin})
	}
	var err error
	if o.work, err = os.MkdirTemp("", "httpbench"); err != nil {
		fatal(err)
	}
	defer os.RemoveAll(o.work)
	if err := writeScripts(o.work); err != nil {
		fatal(err)
	}
	if *profile != "" {
		if err := profileRoutes(o, servers[1], *profile); err != nil {
			fatal(err)
		}
		return
	}
	fmt.Printf("httpbench: %d rounds; wrk -t%d -c%d -d%s per route (warm-up %s), then -c%d -d%s for VmHWM; server CPU %q, wrk CPU %q; presign audit log: %s\n",
		o.rounds, o.threads, o.conns, o.duration, o.warmup, o.hwmConns, o.hwm, o.serverCPU, o.wrkCPU, logWhere(o.log))
	results := map[string][]result{}
	for r := range o.rounds {
		for i := range servers {
			s := servers[(i+r)%len(servers)]
			res, err := runServer(o, s)
			if err != nil {
				fatal(fmt.Errorf("round %d, %s: %w", r+1, s.name, err))
			}
			results[s.name] = append(results[s.name], res)
			fmt.Printf("round %d %-10s", r+1, s.name)
			for _, rt := range routes {
				fmt.Printf("  %s %.0f req/s %.1f µs", rt.name, res.rps[rt.name], res.cpuUS[rt.name])
			}
			fmt.Printf("  VmHWM %d KiB\n", res.hwmKiB)
		}
	}
	summarize(servers, results)
}

func logWhere(l string) string {
	if l == "null" {
		return "json, info, to /dev/null"
	}
	return "json, info, to a file"
}

// summarize prints medians, and each build's ratios to the trivial server:
// the median of the rounds' ratios (each round's servers ran minutes apart
// at most, under the same load).
func summarize(servers []server, results map[string][]result) {
	triv := results["trivial"]
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Println()
	fmt.Fprintln(tw, "server\troute\treq/s (median)\t× trivial (median of rounds)\tCPU µs/req\t× trivial\treq/s at 256\t")
	for _, s := range servers {
		rs := results[s.name]
		for _, rt := range routes {
			rps := median(collect(rs, func(r result) float64 { return r.rps[rt.name] }))
			cpu := median(collect(rs, func(r result) float64 { return r.cpuUS[rt.name] }))
			r256 := median(collect(rs, func(r result) float64 { return r.rps256[rt.name] }))
			var ratios, cpuRatios []float64
			for i := range rs {
				ratios = append(ratios, rs[i].rps[rt.name]/triv[i].rps[rt.name])
				cpuRatios = append(cpuRatios, rs[i].cpuUS[rt.name]/triv[i].cpuUS[rt.name])
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.3f\t%.2f\t%.3f\t%.0f\t\n", s.name, rt.name, rps, median(ratios), cpu, median(cpuRatios), r256)
		}
	}
	tw.Flush()
	fmt.Println()
	for _, s := range servers {
		rs := results[s.name]
		var ratios []float64
		var hwms []string
		for i := range rs {
			ratios = append(ratios, float64(rs[i].hwmKiB)/float64(triv[i].hwmKiB))
			hwms = append(hwms, strconv.FormatInt(rs[i].hwmKiB, 10))
		}
		hwm := median(collect(rs, func(r result) float64 { return float64(r.hwmKiB) }))
		fmt.Printf("VmHWM %-10s median %.1f MiB (%s KiB)  × trivial %.3f\n", s.name, hwm/1024, strings.Join(hwms, " "), median(ratios))
	}
}

func collect(rs []result, f func(result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// runServer starts s, measures it and stops it.
func runServer(o options, s server) (res result, err error) {
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	args := []string{"-addr", addr}
	if !s.trivial {
		args = []string{"serve", "--addr", addr}
	}
	pid, stop, err := startServer(o, s, args)
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := stop(); err != nil && serr != nil {
			err = fmt.Errorf("%w; %v", err, serr)
		}
	}()
	base := "http://" + addr
	if err := waitReady(base, s); err != nil {
		return res, err
	}
	res = result{rps: map[string]float64{}, cpuUS: map[string]float64{}, rps256: map[string]float64{}}
	for _, rt := range routes {
		if _, err := runWrk(o, base, rt, o.conns, o.warmup); err != nil {
			return res, err
		}
	}
	for _, rt := range routes {
		before, err := cpuTicks(pid)
		if err != nil {
			return res, err
		}
		w, err := runWrk(o, base, rt, o.conns, o.duration)
		if err != nil {
			return res, err
		}
		after, err := cpuTicks(pid)
		if err != nil {
			return res, err
		}
		res.rps[rt.name] = w.rps
		res.cpuUS[rt.name] = float64(after-before) * 1e6 / clockTicks / float64(w.requests)
	}
	for _, rt := range routes {
		w, err := runWrk(o, base, rt, o.hwmConns, o.hwm)
		if err != nil {
			return res, err
		}
		res.rps256[rt.name] = w.rps
	}
	res.hwmKiB, err = vmHWM(pid)
	return res, err
}

// startServer starts s with args (pinned to -server-cpu), presign's log
// where -log says; stop ends it by its PID (SIGTERM, then SIGKILL after 10 s)
// and reports its stderr if it failed. The audit log is checked to be
// written (-log file) when stop is called.
func startServer(o options, s server, args []string) (pid int, stop func() error, err error) {
	var cmd *exec.Cmd
	if o.serverCPU != "" {
		cmd = exec.Command("taskset", append([]string{"-c", o.serverCPU, s.bin}, args...)...)
	} else {
		cmd = exec.Command(s.bin, args...)
	}
	cmd.Env = serverEnv(s)
	logFile := filepath.Join(o.work, "audit.log")
	var out *os.File
	switch {
	case s.trivial:
	case o.log == "null":
		if out, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
			return 0, nil, err
		}
	default:
		if out, err = os.Create(logFile); err != nil {
			return 0, nil, err
		}
	}
	if out != nil {
		cmd.Stdout = out
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		var err error
		if out != nil {
			if fi, serr := out.Stat(); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
				err = errors.New("the audit log is empty")
			}
			out.Close()
			os.Remove(logFile)
		}
		if stderr.Len() > 0 {
			err = errors.Join(err, fmt.Errorf("stderr: %.1000s", stderr.String()))
		}
		return err
	}
	// taskset execs the server: the PID is the server's.
	return cmd.Process.Pid, stop, nil
}

// profileRoutes profiles s (a bench/cmd/profserve build) route by route:
// a fresh server per route, a warm-up, then wrk at -conns for -duration
// while pprof takes a CPU profile; the allocation profiles before and after
// (dir/ROUTE-allocs-0.prof, -1.prof: compare with pprof -base) and
// runtime.MemStats from expvar give the allocations per request.
func profileRoutes(o options, s server, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Printf("httpbench profile: wrk -t%d -c%d -d%s per route; server CPU %q, wrk CPU %q; audit log: %s\n",
		o.threads, o.conns, o.duration, o.serverCPU, o.wrkCPU, logWhere(o.log))
	for _, rt := range routes {
		if err := profileRoute(o, s, rt, dir); err != nil {
			return fmt.Errorf("%s: %w", rt.name, err)
		}
	}
	return nil
}

func profileRoute(o options, s server, rt route, dir string) (err error) {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	dbgAddr, err := freeAddr()
	if err != nil {
		return err
	}
	pid, stop, err := startServer(o, s, []string{"-addr", addr, "-pprof", dbgAddr})
	if err != nil {
		return err
	}
	defer func() {
		if serr := stop(); err == nil && serr != nil {
			err = serr
		}
	}()
	base, dbg := "http://"+addr, "http://"+dbgAddr
	if err := waitReady(base, s); err != nil {
		return err
	}
	if _, err := runWrk(o, base, rt, o.conns, o.warmup); err != nil {
		return err
	}
	m0, err := memStats(dbg)
	if err != nil {
		return err
	}
	if err := fetch(dbg+"/debug/pprof/allocs", filepath.Join(dir, rt.name+"-allocs-0.prof")); err != nil {
		return err
	}
	secs := max(1, int(o.duration.Round(time.Second)/time.Second))
	cpuDone := make(chan error, 1)
	go func() {
		cpuDone <- fetch(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", dbg, secs), filepath.Join(dir, rt.name+"-cpu.prof"))
	}()
	t0, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	w, err := runWrk(o, base, rt, o.conns, o.duration)
	if err != nil {
		return err
	}
	t1, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	if err := <-cpuDone; err != nil {
		return err
	}
	m1, err := memStats(dbg)
	if err != nil {
		return err
	}
	if err := fetch(dbg+"/debug/pprof/allocs", filepath.Join(dir, rt.name+"-allocs-1.prof")); err != nil {
		return err
	}
	n := float64(w.requests)
	fmt.Printf("%-13s %.0f req/s  CPU %.2f µs/req  %.1f allocs/req  %.0f B/req  (%d requests; profiles in %s)\n", rt.name, w.rps,
		float64(t1-t0)*1e6/clockTicks/n, float64(m1.Mallocs-m0.Mallocs)/n, float64(m1.TotalAlloc-m0.TotalAlloc)/n, w.requests, dir)
	return nil
}

type memStatsVars struct {
	Memstats struct {
		Mallocs, TotalAlloc uint64
	} `json:"memstats"`
}

// memStats reads runtime.MemStats's counters from expvar.
func memStats(dbg string) (m struct{ Mallocs, TotalAlloc uint64 }, err error) {
	resp, err := http.Get(dbg + "/debug/vars")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	var v memStatsVars
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return m, err
	}
	return v.Memstats, nil
}

func fetch(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// serverEnv is the environment of s: presign with one backend (AWS S3,
// virtual-hosted, no I/O when signing), one API key, JSON logs at info.
func serverEnv(s server) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if s.trivial {
		return env
	}
	return append(env,
		"PRESIGN_S3_BUCKET=bench-bucket", "PRESIGN_S3_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"PRESIGN_API_KEYS="+apiKey, "PRESIGN_LOG_FORMAT=json", "PRESIGN_LOG_LEVEL=info")
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls until the server answers, then checks that every route
// answers 200 (presign: with a signed URL).
func waitReady(base string, s server) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get(base + "/openapi.json")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after 15s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, rt := range routes {
		req, err := http.NewRequest(rt.method, base+rt.path, strings.NewReader(rt.body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		if rt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !s.trivial && !strings.Contains(string(b), "X-Amz-Signature=") {
			return fmt.Errorf("%s: %d %.200s", rt.name, resp.StatusCode, b)
		}
	}
	return nil
}

type wrkResult struct {
	rps      float64
	requests int64
}

var (
	reRequests = regexp.MustCompile(`(\d+) requests in`)
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
)

// runWrk runs wrk on rt and fails on any non-2xx answer or socket error.
func runWrk(o options, base string, rt route, conns int, d time.Duration) (wrkResult, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(secs) + "s",
		"-H", "Authorization: Bearer " + apiKey}
	if rt.method == "POST" {
		args = append(args, "-s", filepath.Join(o.work, rt.name+".lua"))
	}
	args = append(args, base+rt.path)
	var cmd *exec.Cmd
	if o.wrkCPU != "" {
		cmd = exec.Command("taskset", append([]string{"-c", o.wrkCPU, "wrk"}, args...)...)
	} else {
		cmd = exec.Command("wrk", args...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "Non-2xx") || strings.Contains(s, "Socket errors") {
		return wrkResult{}, fmt.Errorf("wrk %s: errors:\n%s", rt.name, s)
	}
	m1, m2 := reRequests.FindStringSubmatch(s), reRPS.FindStringSubmatch(s)
	if m1 == nil || m2 == nil {
		return wrkResult{}, fmt.Errorf("wrk output not understood:\n%s", s)
	}
	n, _ := strconv.ParseInt(m1[1], 10, 64)
	rps, _ := strconv.ParseFloat(m2[1], 64)
	return wrkResult{rps: rps, requests: n}, nil
}

// writeScripts writes the wrk Lua script of every route with a body.
func writeScripts(dir string) error {
	for _, rt := range routes {
		if rt.method != "POST" {
			continue
		}
		lua := fmt.Sprintf("wrk.method = %q\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", rt.method, rt.body)
		if err := os.WriteFile(filepath.Join(dir, rt.name+".lua"), []byte(lua), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100

// cpuTicks returns the user+system CPU time of pid, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("/proc stat not understood")
	}
	f := strings.Fields(string(b[i+1:]))
	// utime and stime are fields 14 and 15 of the line; f[0] is field 3.
	if len(f) < 13 {
		return 0, errors.New("/proc stat not understood")
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

// vmHWM returns the peak resident set size of pid, in KiB.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "httpbench:", err)
	os.Exit(1)
}
