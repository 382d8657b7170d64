package config

import (
	"time"

	"github.com/octomesh/octomesh"
)

// Metering configures rate limits, budget counters and the usage ledger.
type Metering struct {
	// Counters is where rate-limit and budget counters live: "memory" (the
	// default; right for one node) or "redis" (shared by every node, so
	// limits and budgets hold across a cluster).
	Counters string `yaml:"counters"`
	// Redis is the Redis server for counters: "host:port" or a redis://
	// URL (a Secret: it may hold a password). Required for counters: redis.
	Redis octomesh.Secret `yaml:"redis"`
	// RedisPrefix prefixes every key OctoMesh writes. Default "octomesh:".
	RedisPrefix string `yaml:"redis_prefix"`
	// Default per-minute limits for keys and organisations that set none;
	// 0 (the default) means no limit. A key's scopes.rpm/tpm and an
	// organisation's settings.rpm/tpm override them.
	KeyRPM int64 `yaml:"key_rpm"`
	KeyTPM int64 `yaml:"key_tpm"`
	OrgRPM int64 `yaml:"org_rpm"`
	OrgTPM int64 `yaml:"org_tpm"`
	// ReservationTTL is how long a budget reservation outlives a node that
	// crashed while holding it. Default 15m; it must exceed the longest
	// request (server.upstream_timeout).
	ReservationTTL time.Duration `yaml:"reservation_ttl"`
	// SpoolMaxBytes bounds the local spool that keeps usage durable while
	// the database is unreachable. Default 64MiB; when it is full, requests
	// fail rather than go unrecorded.
	SpoolMaxBytes ByteSize `yaml:"spool_max_bytes"`
	// LedgerCommit is what an answer waits for before its last byte:
	// "database" (its usage entry committed in the database), "journal"
	// (the entry appended to the local journal in <data_dir>/ledger-spool,
	// which survives a crash of the process but not of the machine, and
	// applied to the database within LedgerApplyDelay), or "auto" (the
	// default: journal with SQLite, whose commits are no more durable than
	// that at synchronous=NORMAL; database with PostgreSQL).
	LedgerCommit string `yaml:"ledger_commit"`
	// LedgerApplyDelay bounds how long a journaled entry waits before it
	// is applied to the database. Default 20ms.
	LedgerApplyDelay time.Duration `yaml:"ledger_apply_delay"`
}

// LedgerWriteBehind is the ledger writer's WriteBehind for the database
// driver in use: 0 when answers wait for the database.
func (m *Metering) LedgerWriteBehind(driver string) time.Duration {
	if m.LedgerCommit == "database" || (m.LedgerCommit == "auto" && driver != DriverSQLite) {
		return 0
	}
	return m.LedgerApplyDelay
}

func (m *Metering) validate(p *problems, upstream time.Duration) {
	if !oneOf(m.Counters, "memory", "redis") {
		p.add("metering.counters", "%s is not one of memory, redis", quoted(m.Counters))
	}
	if m.Counters == "redis" && m.Redis.Reveal() == "" {
		p.add("metering.redis", "required when metering.counters is redis")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"key_rpm", m.KeyRPM}, {"key_tpm", m.KeyTPM}, {"org_rpm", m.OrgRPM}, {"org_tpm", m.OrgTPM}} {
		if f.v < 0 {
			p.add("metering."+f.name, "must be 0 (no limit) or positive")
		}
	}
	if m.ReservationTTL <= 0 {
		p.add("metering.reservation_ttl", "must be positive")
	} else if upstream > 0 && m.ReservationTTL <= upstream {
		p.add("metering.reservation_ttl", "must exceed server.upstream_timeout (%s), or a long request's reservation would expire while it runs", upstream)
	}
	if m.SpoolMaxBytes <= 0 {
		p.add("metering.spool_max_bytes", "must be positive")
	}
	if !oneOf(m.LedgerCommit, "auto", "database", "journal") {
		p.add("metering.ledger_commit", "%s is not one of auto, database, journal", quoted(m.LedgerCommit))
	}
	if m.LedgerApplyDelay <= 0 || m.LedgerApplyDelay > time.Minute {
		p.add("metering.ledger_apply_delay", "must be positive and at most 1m")
	}
}
