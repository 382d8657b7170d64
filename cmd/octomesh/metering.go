package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/ledger"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
)

// metering is the running meter with what it needs stopped at shutdown.
type metering struct {
	*meter.Meter
	writer *ledger.Writer
	stop   func() // stops the budget refresher and closes the writer and Redis
}

// newMetering builds the counters (memory or Redis), the group-commit
// ledger writer (spooling to <data_dir>/ledger-spool while the database is
// unreachable, and replaying what an earlier run left there) and the meter.
func newMetering(ctx context.Context, cfg *config.Config, st octomesh.MeterStore, log *slog.Logger) (*metering, error) {
	mc := cfg.Metering
	var counters limit.Counters
	var rdb redis.UniversalClient
	switch mc.Counters {
	case "redis":
		opt, err := redisOptions(mc.Redis.Reveal())
		if err != nil {
			return nil, fmt.Errorf("metering.redis: %w", err)
		}
		rdb = redis.NewClient(opt)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			rdb.Close()
			return nil, fmt.Errorf("metering.redis: cannot reach %s: %w", opt.Addr, err)
		}
		counters = limit.NewRedis(rdb, mc.RedisPrefix)
	default:
		counters = limit.NewMemory(time.Now)
	}
	w, err := ledger.NewWriter(st, ledger.Options{
		SpoolDir:      filepath.Join(cfg.DataDir, "ledger-spool"),
		SpoolMaxBytes: int64(mc.SpoolMaxBytes),
		Logger:        log,
	})
	if err != nil {
		if rdb != nil {
			rdb.Close()
		}
		return nil, fmt.Errorf("ledger: %w", err)
	}
	m := meter.New(meter.Options{
		Counters: counters, Ledger: w, Store: st, Logger: log,
		KeyRPM: mc.KeyRPM, KeyTPM: mc.KeyTPM, OrgRPM: mc.OrgRPM, OrgTPM: mc.OrgTPM,
		ReservationTTL: mc.ReservationTTL,
	})
	if err := m.LoadBudgets(ctx); err != nil {
		log.Warn("load budgets; retrying in the background", "err", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); m.Run(rctx) }()
	return &metering{Meter: m, writer: w, stop: func() {
		cancel()
		<-ran
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if err := w.Close(cctx); err != nil {
			log.Error("ledger writer close", "err", err)
		}
		if rdb != nil {
			rdb.Close()
		}
	}}, nil
}

// redisOptions accepts host:port or a redis:// (rediss://) URL.
func redisOptions(s string) (*redis.Options, error) {
	if strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://") {
		return redis.ParseURL(s)
	}
	if s == "" || strings.ContainsAny(s, "/ ") {
		return nil, fmt.Errorf("want host:port or a redis:// URL")
	}
	return &redis.Options{Addr: s}, nil
}
