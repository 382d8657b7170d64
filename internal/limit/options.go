package limit

import "time"

// DefaultSettledTTL is how long a Settle is remembered per account, so that
// a retried Settle adds nothing. It bounds the memory settled ids take: one
// entry per account and settled request for this long.
const DefaultSettledTTL = 2 * time.Minute

// Option configures Memory or Redis.
type Option func(*config)

type config struct {
	now        func() time.Time
	settledTTL time.Duration
}

func newConfig(opts []Option) config {
	c := config{settledTTL: DefaultSettledTTL}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithClock makes the counters read time from now instead of their own
// clock (Memory: the process's monotonic clock; Redis: the server's TIME).
// Tests use it with a fake clock. In production, leave Redis on server
// time: every node then measures with the same clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithSettledTTL sets how long a settled id is remembered (see
// DefaultSettledTTL). d ≤ 0 keeps the default.
func WithSettledTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.settledTTL = d
		}
	}
}
