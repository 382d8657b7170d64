package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/gateway"
	"github.com/octomesh/octomesh/internal/httpapi"
	"github.com/octomesh/octomesh/internal/sqlite"
	"github.com/octomesh/octomesh/internal/telemetry"
)

// serve runs the gateway until ctx is done. started, when not nil, is called
// with the bound address once the server accepts connections (tests use it).
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, started func(addr string)) error {
	fs := newFlagSet("serve", stderr)
	cfgPath := fs.String("config", "", "YAML config file (default: built-in defaults)")
	listen := fs.String("listen", "", "listen address (overrides server.listen)")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
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
	log := newLogger(cfg.Log, stderr)

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	driver, dsn := cfg.DatabaseDSN()
	if driver != config.DriverSQLite {
		return errors.New("database.dsn: PostgreSQL is not available in this version yet; leave dsn empty for SQLite")
	}
	db, err := sqlite.Open(ctx, sqlitePath(dsn.Reveal()))
	if err != nil {
		return err
	}
	defer db.Close()

	keys, err := apikey.NewCache(ctx, db, time.Now)
	if err != nil {
		return err
	}
	if err := bootstrapAdmin(ctx, keys, getenv("OCTOMESH_ADMIN_KEY"), stdout); err != nil {
		return err
	}

	wiring, err := buildProviders(cfg, log)
	if err != nil {
		return err
	}
	catalog, err := gateway.NewCatalog(wiring.deployments, wiring.aliases)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	metrics := telemetry.NewMetrics()
	svc, err := gateway.New(gateway.Options{
		Catalog: catalog, Providers: wiring.providers, Metrics: metrics, Logger: log,
		UpstreamTimeout: cfg.Server.UpstreamTimeout,
	})
	if err != nil {
		return err
	}
	api := httpapi.New(httpapi.Options{
		Service: svc, Auth: keys, Metrics: metrics.Handler(), Ready: db.Ping, Logger: log,
		MaxBodyBytes: int64(cfg.Server.MaxBodyBytes), ForwardHeaders: cfg.Server.AllowedForwardHeaders,
	})

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
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
	return nil
}

// bootstrapAdmin makes sure an admin key exists. With OCTOMESH_ADMIN_KEY set
// that key is adopted (once; later starts find it already stored). Otherwise,
// on first start, a key is generated and printed once: only its hash is kept.
func bootstrapAdmin(ctx context.Context, keys *apikey.Cache, envKey string, stdout io.Writer) error {
	admin := func() *octomesh.APIKey {
		var b [8]byte
		rand.Read(b[:])
		return &octomesh.APIKey{ID: "key_" + hex.EncodeToString(b[:]), OrgID: "default", Name: "bootstrap admin", Admin: true}
	}
	if envKey != "" {
		if _, err := keys.Authenticate(ctx, envKey); err == nil {
			return nil
		}
		if err := keys.Adopt(ctx, admin(), envKey); err != nil {
			return fmt.Errorf("OCTOMESH_ADMIN_KEY: %w", err)
		}
		fmt.Fprintln(stdout, "Adopted OCTOMESH_ADMIN_KEY as the admin API key.")
		return nil
	}
	if keys.Len() > 0 {
		return nil
	}
	raw, err := keys.Create(ctx, admin())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created the admin API key. It is shown only this once; store it now:\n\n    %s\n\n", raw)
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
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
