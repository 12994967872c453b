package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"presign.dev/internal/config"
	"presign.dev/internal/metrics"
	"presign.dev/internal/service"
)

// shutdownTimeout bounds how long in-flight requests may take to finish
// after SIGTERM; Cloud Run allows 10 s before it kills the container.
const shutdownTimeout = 8 * time.Second

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
	svc, err := service.New(cfg, service.Options{Logger: logger, Observer: m, Metrics: m.Handler()})
	if err != nil {
		return configError(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	logger.Info("presign serving", "addr", ln.Addr().String(), "config", cfg.Source, "backends", len(cfg.Backends),
		"rules", len(cfg.Rules), "api_keys", len(cfg.APIKeys), "jwt_issuers", len(cfg.JWT))
	return c.serveUntilDone(ctx, ln, svc.Handler, logger)
}

// serveUntilDone serves h on ln until ctx ends, then shuts down gracefully:
// the listener closes at once, in-flight requests finish (for up to
// shutdownTimeout).
func (c *cli) serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	if c.wrap != nil {
		h = c.wrap(h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
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
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
