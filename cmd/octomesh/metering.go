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
	"github.com/octomesh/octomesh/internal/telemetry"
)

// metering is the running meter with what it needs stopped at shutdown.
type metering struct {
	*meter.Meter
	writer *ledger.Writer
	// store is the meter store to read usage through: it applies the
	// writer's journal first, so a node reads its own writes.
	store octomesh.MeterStore
	stop  func() // stops the budget refresher and closes the writer and Redis
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
		counters = limit.NewMemory(nil) // the monotonic clock: a wall-clock step cannot refill a bucket
	}
	driver, _ := cfg.DatabaseDSN()
	w, err := ledger.NewWriter(st, ledger.Options{
		SpoolDir:      filepath.Join(cfg.DataDir, "ledger-spool"),
		SpoolMaxBytes: int64(mc.SpoolMaxBytes),
		WriteBehind:   mc.LedgerWriteBehind(driver),
		Logger:        log,
	})
	if err != nil {
		if rdb != nil {
			rdb.Close()
		}
		return nil, fmt.Errorf("ledger: %w", err)
	}
	st = ledger.Consistent{MeterStore: st, W: w}
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
	return &metering{Meter: m, writer: w, store: st, stop: func() {
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

// metricValues exposes the meter's and the ledger writer's counters on
// /metrics.
func (mt *metering) metricValues() []telemetry.Value {
	s, w := mt.Stats(), mt.writer.Stats()
	degraded := int64(0)
	if w.Degraded {
		degraded = 1
	}
	return []telemetry.Value{
		{Name: "octomesh_ratelimited_total", Type: "counter", Help: "Requests refused by a rate limit (429).", Value: s.RateLimited.Load()},
		{Name: "octomesh_budget_refused_total", Type: "counter", Help: "Requests refused by a hard budget or prepaid credit (402).", Value: s.BudgetRefused.Load()},
		{Name: "octomesh_budget_alerts_total", Type: "counter", Help: "Budget alerts raised (spend crossed a budget's alert_percent).", Value: s.Alerts.Load()},
		{Name: "octomesh_counter_errors_total", Type: "counter", Help: "Failures of the rate-limit and budget counter backend.", Value: s.CounterErrors.Load()},
		{Name: "octomesh_ledger_failures_total", Type: "counter", Help: "Requests failed because their usage could not be made durable.", Value: s.LedgerFailures.Load()},
		{Name: "octomesh_ledger_batches_total", Type: "counter", Help: "Ledger transactions committed by group commit.", Value: w.Batches},
		{Name: "octomesh_ledger_entries_total", Type: "counter", Help: "Ledger entries committed by group commit.", Value: w.Entries},
		{Name: "octomesh_ledger_spooled_total", Type: "counter", Help: "Ledger entries written to the local spool while the database was failing.", Value: w.Spooled},
		{Name: "octomesh_ledger_replayed_total", Type: "counter", Help: "Spooled ledger entries replayed into the database.", Value: w.Replayed},
		{Name: "octomesh_ledger_journaled_total", Type: "counter", Help: "Ledger entries acknowledged from the local journal (metering.ledger_commit: journal).", Value: w.Journaled},
		{Name: "octomesh_ledger_applied_total", Type: "counter", Help: "Journaled ledger entries applied to the database.", Value: w.Applied},
		{Name: "octomesh_ledger_spool_bytes", Type: "gauge", Help: "Size of the local ledger spool and journal.", Value: w.SpoolBytes},
		{Name: "octomesh_ledger_degraded", Type: "gauge", Help: "1 while ledger writes go to the spool because the database is failing.", Value: degraded},
	}
}
