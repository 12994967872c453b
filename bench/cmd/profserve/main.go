// Command profserve is `presign serve` for profiling, never for serving:
// the same configuration (the environment), logger, metrics, service and
// http.Server settings as cmd/presign's serve, plus net/http/pprof and
// expvar's memstats on a second listener of their own (-pprof, loopback),
// never on the served one. scripts/bench-http.sh's profile mode drives it
// with wrk (see bench/cmd/httpbench -profile).
//
// It differs from cmd/presign in what it links: not the embedded store of
// `presign dev` (Versity Gateway and its dependencies), so that, run as a
// presign build by httpbench (profserve serve --addr ADDR), it shows what
// that store costs serve's memory. serve's reload and drain wrappers (two
// atomic counters a request) are left out too.
//
//	profserve [serve] -addr 127.0.0.1:8080 [-pprof 127.0.0.1:6060]
package main

import (
	"expvar"
	"flag"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"

	"presign.dev/internal/config"
	"presign.dev/internal/metrics"
	"presign.dev/internal/service"

	"presign.dev/internal/httpserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address of the service")
	pprofAddr := flag.String("pprof", "", "listen address of pprof and expvar (loopback only; \"\": none)")
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	_ = flag.CommandLine.Parse(args)
	cfg, err := config.LoadServing(os.LookupEnv, "")
	if err != nil {
		log.Fatal(err)
	}
	logger := service.NewLogger(os.Stdout, cfg.LogFormat, cfg.LogLevel, nil)
	m := metrics.New()
	svc, err := service.New(cfg, service.Options{Logger: logger, Observer: m, Metrics: m.Handler()})
	if err != nil {
		log.Fatal(err)
	}
	if *pprofAddr != "" {
		if host, _, err := net.SplitHostPort(*pprofAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			log.Fatalf("-pprof %q: must be a loopback address", *pprofAddr)
		}
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg.Handle("/debug/vars", expvar.Handler())
		go func() { log.Fatal(http.ListenAndServe(*pprofAddr, dbg)) }()
	}
	// presign serve's settings.
	srv := httpserver.New(svc.Handler, slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(srv.Serve(ln))
}
