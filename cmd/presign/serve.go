package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"presign.dev/internal/config"
	"presign.dev/internal/httpserver"
	"presign.dev/internal/metrics"
	"presign.dev/internal/service"
)

// serve runs the HTTP API until ctx ends (SIGTERM, SIGINT), then drains
// (serveDraining). Every value received from c.reload (SIGHUP) reloads the
// configuration: a valid one replaces the served service atomically, an
// invalid one is refused and logged, and the running one keeps serving.
func (c *cli) serve(ctx context.Context, args []string) error {
	fs := c.newFlagSet("serve", "serve [--addr ADDR] [--config FILE]")
	addr := fs.String("addr", "", "listen address (default $PRESIGN_ADDR, else :$PORT, else :8080)")
	file := fs.String("config", "", "YAML configuration file (default $PRESIGN_CONFIG; without one, the environment alone)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.LoadServing(c.lookup, *file)
	if err != nil {
		return configError(err)
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	logger := service.NewLogger(c.stdout, cfg.LogFormat, cfg.LogLevel, nil)
	m := metrics.New()
	d := &drainer{}
	// Every generation of the service shares these: the same metrics, the
	// same logger, the same readiness and the same in-memory limits (a
	// reload keeps a caller's rate-limit bucket and quota count).
	opts := service.Options{Logger: logger, Observer: m, Metrics: m.Handler(), Ready: d.ready, Memory: service.NewMemory(nil)}
	svc, err := service.New(cfg, opts)
	if err != nil {
		return configError(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	logger.Info("presign serving", "addr", ln.Addr().String(), "config", cfg.Source, "backends", len(cfg.Backends),
		"rules", len(cfg.Rules), "api_keys", len(cfg.APIKeys), "jwt_issuers", len(cfg.JWT))

	sw := &swapper{logger: logger}
	sw.install(&generation{n: 1, cfg: cfg, svc: svc})
	r := &reloader{lookup: c.lookup, file: *file, addrFlag: *addr, addr: cfg.Addr, opts: opts, sw: sw, logger: logger}
	rctx, stopReloads := context.WithCancel(ctx)
	reloads := make(chan struct{})
	go func() {
		defer close(reloads)
		r.loop(rctx, c.reload)
	}()
	err = c.serveDraining(ctx, ln, sw, logger, d, func() (time.Duration, time.Duration) {
		g := sw.cur.Load()
		return g.cfg.ShutdownDelay, g.cfg.ShutdownTimeout
	})
	stopReloads()
	<-reloads
	sw.retire(sw.cur.Load())
	sw.closing.Wait()
	return err
}

// serveUntilDone serves h on ln until ctx ends, then shuts down gracefully
// without a delay: the listener closes at once, in-flight requests finish
// (for up to config.DefaultShutdownTimeout). presign dev serves this way.
func (c *cli) serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	return c.serveDraining(ctx, ln, h, logger, &drainer{}, func() (time.Duration, time.Duration) {
		return 0, config.DefaultShutdownTimeout
	})
}

// drainer is the state a draining server shares with its handlers.
type drainer struct{ draining atomic.Bool }

// ready is false once draining has begun.
func (d *drainer) ready() bool { return !d.draining.Load() }

// serveDraining serves h on ln until ctx ends, then drains in three steps,
// each logged:
//
//  1. draining: d.ready turns false (/healthz answers 503 while /livez
//     answers 200) and every response from now on closes its connection
//     (Connection: close), so clients and load balancers move to other
//     instances; the listener still accepts and serves for the delay.
//  2. after the delay (cut short by a value from c.hurry, a second
//     SIGTERM), the server shuts down: the listener closes, idle
//     connections close, and in-flight requests get the timeout to finish.
//  3. when they have, it returns nil; when the timeout cut requests off, it
//     closes their connections and returns an error that says how many.
//
// settings gives the delay and the timeout when ctx ends (a reload may have
// changed them).
//
// Idle connections are not closed when draining begins
// (http.Server.SetKeepAlivesEnabled(false) would): a client may have just
// sent a request on one that the server has not read yet, and a POST lost
// that way is not retried by clients. Closing after a response is safe;
// the client knows not to send more on that connection.
func (c *cli) serveDraining(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, d *drainer,
	settings func() (delay, timeout time.Duration)) error {
	if c.wrap != nil {
		h = c.wrap(h)
	}
	var inFlight atomic.Int64
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		if d.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		inner.ServeHTTP(w, r)
	})
	srv := httpserver.New(h, slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if c.ready != nil {
		c.ready("http://" + ln.Addr().String())
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	delay, timeout := settings()
	d.draining.Store(true)
	logger.Info("draining: /healthz answers 503, responses close their connections, still serving", "delay", delay.String())
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-c.hurry:
			logger.Info("draining: signalled again, the rest of the delay is skipped")
		case err := <-served:
			t.Stop()
			return err
		}
		t.Stop()
	}
	logger.Info("shutting down: the listener closes, in-flight requests finish", "timeout", timeout.String(), "in_flight", inFlight.Load())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		cut := inFlight.Load()
		_ = srv.Close()
		<-served
		if cut > 0 {
			logger.Error("shut down: the timeout cut requests off", "timeout", timeout.String(), "cut_off", cut)
			return fmt.Errorf("shutdown: the %s timeout cut off %d request(s) still in flight", timeout, cut)
		}
		logger.Warn("shut down: connections without a request in flight were closed at the timeout", "timeout", timeout.String())
		return nil
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("shut down: every request finished")
	return nil
}

// generation is one configuration's service. It serves from the moment it
// is installed until it is replaced; then, once the last request it was
// serving has finished, its service is closed.
type generation struct {
	n       int
	cfg     config.Config
	svc     *service.Service
	active  atomic.Int64 // requests being served
	retired atomic.Bool  // replaced: no new requests
	closed  sync.Once
}

// swapper serves each request with the current generation.
type swapper struct {
	cur     atomic.Pointer[generation]
	logger  *slog.Logger
	closing sync.WaitGroup // closes of retired generations under way
}

func (s *swapper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := s.acquire()
	defer s.release(g)
	g.svc.Handler.ServeHTTP(w, r)
}

// acquire counts a request in the current generation. A generation
// replaced between the load and the count is let go and the new one taken,
// so a request is never counted in a generation that retire has seen idle.
func (s *swapper) acquire() *generation {
	for {
		g := s.cur.Load()
		g.active.Add(1)
		if s.cur.Load() == g {
			return g
		}
		s.release(g)
	}
}

// release ends a request's count; the last request of a retired
// generation closes it.
func (s *swapper) release(g *generation) {
	if g.active.Add(-1) == 0 && g.retired.Load() {
		s.close(g)
	}
}

// install makes g current and retires the generation it replaces.
func (s *swapper) install(g *generation) {
	if old := s.cur.Swap(g); old != nil {
		s.retire(old)
	}
}

// retire marks g replaced and closes it now if it serves nothing.
func (s *swapper) retire(g *generation) {
	g.retired.Store(true)
	if g.active.Load() == 0 {
		s.close(g)
	}
}

// close closes g's service once, in the background; s.closing counts it.
func (s *swapper) close(g *generation) {
	g.closed.Do(func() {
		s.closing.Add(1)
		go func() {
			defer s.closing.Done()
			if err := g.svc.Close(); err != nil {
				s.logger.Warn("configuration released with an error", "generation", g.n, "error", err.Error())
				return
			}
			s.logger.Info("configuration released: its requests have finished", "generation", g.n)
		}()
	})
}

// reloader loads the configuration again and installs it.
type reloader struct {
	lookup   config.Lookup
	file     string // --config; "" reads PRESIGN_CONFIG, else the environment alone
	addrFlag string // --addr, which overrides every configuration's
	addr     string // the address serve listens on
	opts     service.Options
	sw       *swapper
	logger   *slog.Logger
}

// loop reloads for every value from signals until ctx ends. Reloads run
// one at a time.
func (r *reloader) loop(ctx context.Context, signals <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-signals:
			if !ok {
				return
			}
			r.reload()
		}
	}
}

// reload reads the configuration through the same loader as start-up and,
// when it is valid, swaps its service in; otherwise it logs the problems
// (which never hold secrets) and the running configuration stays.
func (r *reloader) reload() {
	old := r.sw.cur.Load()
	r.logger.Info("config reload requested", "generation", old.n)
	cfg, err := config.LoadServing(r.lookup, r.file)
	if err == nil && r.addrFlag != "" {
		cfg.Addr = r.addrFlag
	}
	var svc *service.Service
	if err == nil {
		svc, err = service.New(cfg, r.opts)
	}
	if err != nil {
		r.logger.Error("config reload refused: the running configuration keeps serving", "generation", old.n,
			"problems", strings.Split(err.Error(), "\n"))
		return
	}
	if cfg.Addr != r.addr {
		r.logger.Warn("config reload: the listen address cannot change while serving; it applies at the next start",
			"addr", r.addr, "new_addr", cfg.Addr)
	}
	if cfg.LogFormat != old.cfg.LogFormat || cfg.LogLevel != old.cfg.LogLevel {
		r.logger.Warn("config reload: log settings apply at the next start")
	}
	g := &generation{n: old.n + 1, cfg: cfg, svc: svc}
	r.sw.install(g)
	attrs := []any{"generation", g.n, "config", cfg.Source, "backends", len(cfg.Backends), "rules", len(cfg.Rules),
		"api_keys", len(cfg.APIKeys), "jwt_issuers", len(cfg.JWT)}
	if cfg.Source == config.SourceEnvironment {
		attrs = append(attrs, "note", "no configuration file: the environment was read again, and a running process's environment does not change")
	}
	r.logger.Info("config reloaded", attrs...)
}
