package meter

import (
	"strconv"
	"sync"
	"time"
)

// accountKeys caches the counter keys of budget accounts ("b:<id>:<window
// start>") and credit accounts ("c:<org>"), made once per budget window
// and organisation instead of per reserved request. It is safe for
// concurrent use.
type accountKeys struct {
	mu sync.RWMutex
	m  map[accountKeyOf]string
}

// accountKeyOf is what an account key is made of.
type accountKeyOf struct {
	prefix string // "b:" or "c:"
	id     string
	start  int64 // unix seconds of the window's start
	window bool  // the key names the window (start)
}

// budget returns the counter key of budget id's window starting at start
// (the zero time: a budget without windows).
func (c *accountKeys) budget(id string, start time.Time) string {
	k := accountKeyOf{prefix: "b:", id: id}
	if !start.IsZero() {
		k.start, k.window = start.Unix(), true
	}
	return c.get(k)
}

// credit returns the counter key of an organisation's prepaid credit.
func (c *accountKeys) credit(orgID string) string {
	return c.get(accountKeyOf{prefix: "c:", id: orgID})
}

func (c *accountKeys) get(k accountKeyOf) string {
	c.mu.RLock()
	s, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return s
	}
	s = k.prefix + k.id
	if k.window {
		s += ":" + strconv.FormatInt(k.start, 10)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxLimitKeys {
		c.m = map[accountKeyOf]string{} // past windows' keys go too
	}
	c.m[k] = s
	c.mu.Unlock()
	return s
}
