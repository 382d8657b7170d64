package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/gateway"
	"github.com/octomesh/octomesh/internal/httpapi"
	"github.com/octomesh/octomesh/internal/logbuf"
	"github.com/octomesh/octomesh/internal/profiling"
	"github.com/octomesh/octomesh/internal/telemetry"
)

// serve runs the gateway until ctx is done. started, when not nil, is called
// with the bound address once the server accepts connections (tests use it).
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, started func(addr string)) error {
	fs := newFlagSet("serve", stderr)
	cfgPath := fs.String("config", "", "YAML config file (default: built-in defaults)")
	listen := fs.String("listen", "", "listen address (overrides server.listen)")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	pprofAddr := fs.String("pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath, getenv); err != nil {
			return err
		}
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	// Lines are batched (logbuf): one write per request would be one of the
	// request's ~10 system calls. Close, deferred first, runs last.
	logw := logbuf.New(stderr, cfg.Log.FlushInterval)
	defer logw.Close()
	log := newLogger(cfg.Log, logw)
	// The last line, once every later deferred close (the ledger's drain,
	// the database) has run: a log that ends without it ended in a crash.
	stopped := false
	defer func() {
		if stopped {
			log.Info("stopped")
		}
	}()
	defer startGCTuner(cfg.Server.GCHeadroom, getenv, log)()
	stopProfiling, err := profiling.Start(*pprofAddr, log)
	if err != nil {
		return err
	}
	defer stopProfiling()

	db, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.close()
	if err := bootstrapAdmin(ctx, db, getenv("OCTOMESH_ADMIN_KEY"), stdout); err != nil {
		return err
	}
	keys, err := apikey.NewCache(ctx, db, apikey.CacheOptions{Now: time.Now})
	if err != nil {
		return err
	}
	// Keys changed on other nodes (or with the CLI) arrive within
	// apikey.RefreshInterval; the poller ends with serve.
	pollCtx, stopPoll := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() { defer close(polled); keys.Run(pollCtx, apikey.RefreshInterval, log) }()
	defer func() { stopPoll(); <-polled }()

	wiring, err := buildProviders(cfg, log)
	if err != nil {
		return err
	}
	catalog, err := gateway.NewCatalog(wiring.deployments, wiring.aliases)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	metrics := telemetry.NewMetrics()
	metrics.RegisterRuntime()
	// Rate limits, budgets and the durable usage ledger (metering.go).
	metered, err := newMetering(ctx, &cfg, db.meter, log)
	if err != nil {
		return err
	}
	defer metered.stop()
	db.meter = metered.store // usage reads see this node's journaled entries
	metrics.Register(metered.metricValues)
	rt, routeDefaults, learner, err := newRouter(cfg.Routing, wiring.deployments, wiring.aliases)
	if err != nil {
		return err
	}
	svc, err := gateway.New(gateway.Options{
		Catalog: catalog, Providers: wiring.providers, Metrics: metrics, Logger: log,
		UpstreamTimeout: cfg.Server.UpstreamTimeout, Router: rt, RouteDefaults: routeDefaults, Online: learner,
		Meter: metered.Meter, DecisionCapacity: cfg.Routing.DecisionRecords,
	})
	if err != nil {
		return err
	}
	// Statements, credits and Stripe (billing.go, docs/billing.md).
	bill := newBilling(cfg.Billing, db, metered.Credit, log)
	api := httpapi.New(httpapi.Options{
		Billing: bill,
		Service: svc, Auth: keys, Metrics: metrics.Handler(), Ready: db.Ping, Logger: log,
		MaxBodyBytes: int64(cfg.Server.MaxBodyBytes), ForwardHeaders: cfg.Server.AllowedForwardHeaders,
		Accounts: db, MintKey: apikey.Mint,
		Meter: db.meter, BudgetsChanged: metered.BudgetsChanged,
	})

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	srv := newHTTPServer(cfg.Server, api, log)
	addr := ln.Addr().String()
	fmt.Fprintf(stdout, "OctoMesh %s listening on http://%s (data in %s, %d models)\n", octomesh.Version, addr, cfg.DataDir, len(catalog.Deployments()))
	log.Info("listening", "addr", addr, "models", len(catalog.Deployments()))
	if started != nil {
		started(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-errc
	stopped = true
	return nil
}

// sqlitePath accepts a plain path or a file: URI (its query is ignored:
// OctoMesh sets its own pragmas).
func sqlitePath(dsn string) string {
	p, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	return p
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if lb, ok := w.(*logbuf.Writer); ok {
		// Request lines are formatted at the batch's flush, off the
		// request's goroutine, by logbuf's formatter: slog's output, at
		// less cost (see logbuf.Writer.Handler and TextHandler).
		if c.Format == "json" {
			return slog.New(lb.JSONHandler(opts))
		}
		return slog.New(lb.TextHandler(opts))
	}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
