package meter

import (
	"context"
	"fmt"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
)

// Admission is what rate limiting decided for one request.
type Admission struct {
	p      *octomesh.Principal
	checks []limit.RateCheck // the token checks, to correct once usage is known
	tokens int64             // tokens taken per token check
	work   *admitWork        // nil when no limit applies
	// Requests and Tokens are the tightest limits, for the headers.
	Requests, Tokens *octomesh.RateLimitState
}

// admitWork is the room an admission with limits needs, in one
// allocation made only then: checks handed to the counters, their
// results, the states the headers point to, and token corrections.
type admitWork struct {
	checks  [4]limit.RateCheck
	results [4]limit.RateResult
	states  [2]octomesh.RateLimitState // what Requests and Tokens point to
	charge  [2]limit.RateCheck         // correctTokens' charges
}

// Admit applies the caller's rate limits: one request and tokens (the
// prompt estimate plus the most the answer may use) on the key's and the
// organisation's per-minute limits, all or nothing. A refusal is
// ERATELIMITED with RetryAfter set. A counter backend failure lets the
// request through (rate limits fail open; budgets do not).
func (m *Meter) Admit(ctx context.Context, p *octomesh.Principal, tokens int64) (*Admission, error) {
	a := new(Admission)
	return a, m.AdmitInto(ctx, a, p, tokens)
}

// AdmitInto is Admit deciding in *a, which the caller owns (a gateway
// keeps it with the rest of the request's state, saving an allocation
// per request). *a is overwritten.
func (m *Meter) AdmitInto(ctx context.Context, a *Admission, p *octomesh.Principal, tokens int64) error {
	*a = Admission{p: p}
	if p == nil {
		return nil
	}
	keyRPM, keyTPM := orDefault(p.Scopes.RPM, m.o.KeyRPM), orDefault(p.Scopes.TPM, m.o.KeyTPM)
	orgRPM, orgTPM := orDefault(p.Org.RPM, m.o.OrgRPM), orDefault(p.Org.TPM, m.o.OrgTPM)
	if keyRPM <= 0 && keyTPM <= 0 && orgRPM <= 0 && orgTPM <= 0 {
		return nil
	}
	a.work = new(admitWork)
	checks := &a.work.checks
	var kinds [4]limitKind
	n := 0
	// Keys are built only for limits that apply; descriptions only for a
	// refusal (admission is on every request's path).
	add := func(k limitKind, per, units int64) {
		if per <= 0 {
			return
		}
		if units > per {
			units = per // a request larger than the whole limit waits for a full bucket, not forever
		}
		checks[n] = limit.RateCheck{Key: m.limitKeys.of(k, p), Rate: limit.Rate{Limit: per, Period: time.Minute}, N: units}
		kinds[n] = k
		n++
	}
	add(keyRequests, keyRPM, 1)
	add(orgRequests, orgRPM, 1)
	firstTok := n
	add(keyTokens, keyTPM, tokens)
	add(orgTokens, orgTPM, tokens)
	if n == 0 {
		return nil
	}
	var ok bool
	var res []limit.RateResult
	var err error
	if ai, into := m.o.Counters.(limit.AllowerInto); into {
		res = a.work.results[:n]
		ok, err = ai.AllowInto(ctx, checks[:n], res)
	} else {
		ok, res, err = m.o.Counters.Allow(ctx, checks[:n])
	}
	if err != nil {
		m.stats.CounterErrors.Add(1)
		m.log.Warn("rate limit check failed; admitting", "key_id", p.KeyID, "err", err)
		return nil
	}
	for i := range res {
		st := octomesh.RateLimitState{Limit: checks[i].Rate.Limit, Remaining: res[i].Remaining, Reset: res[i].ResetAfter}
		if i < firstTok {
			a.Requests = tighter(a.Requests, &a.work.states[0], st)
		} else {
			a.Tokens = tighter(a.Tokens, &a.work.states[1], st)
		}
	}
	if !ok {
		m.stats.RateLimited.Add(1)
		var wait time.Duration
		desc := ""
		for i, r := range res {
			if r.RetryAfter == limit.Never {
				// Cannot happen while N is capped at the limit (Burst 0 means
				// the limit), but a refusal that never clears must say so.
				return octomesh.Errorf(octomesh.ERATELIMITED, "rate limit exceeded: the request is larger than %s", kinds[i].describe(checks[i].Rate.Limit))
			}
			if r.RetryAfter > wait {
				wait, desc = r.RetryAfter, kinds[i].describe(checks[i].Rate.Limit)
			}
		}
		if wait < time.Second {
			wait = time.Second // Retry-After has whole seconds; never tell a client 0
		}
		e := octomesh.Errorf(octomesh.ERATELIMITED, "rate limit exceeded: %s; retry after %ds", desc, int((wait+time.Second-1)/time.Second))
		e.RetryAfter = wait
		return e
	}
	if firstTok < n {
		a.checks = checks[firstTok:n]
	}
	a.tokens = tokens
	return nil
}

// limitKind is one of the four per-minute limits.
type limitKind uint8

const (
	keyRequests limitKind = iota
	orgRequests
	keyTokens
	orgTokens
)

// describe names the limit for an error message.
func (k limitKind) describe(per int64) string {
	whose, unit := "this API key's", "requests"
	if k == orgRequests || k == orgTokens {
		whose = "the organisation's"
	}
	if k == keyTokens || k == orgTokens {
		unit = "tokens"
	}
	return fmt.Sprintf("%s limit of %d %s per minute", whose, per, unit)
}

// correctTokens charges the token limits for the difference between the
// tokens a request used and those it was admitted with.
func (m *Meter) correctTokens(ctx context.Context, a *Admission, used int64) {
	if a == nil || len(a.checks) == 0 {
		return
	}
	cs := a.work.charge[:0]
	if len(a.checks) > len(a.work.charge) {
		cs = make([]limit.RateCheck, 0, len(a.checks))
	}
	cs = append(cs, a.checks...)
	delta := false
	for i := range cs {
		// The check took min(tokens, limit); charge what the request really used beyond that.
		cs[i].N = used - cs[i].N
		delta = delta || cs[i].N != 0
	}
	if !delta {
		return
	}
	if err := m.o.Counters.Charge(ctx, cs); err != nil {
		m.stats.CounterErrors.Add(1)
		m.log.Warn("token limit correction failed", "err", err)
	}
}

// tighter returns the state with less remaining of cur (nil, or room)
// and st, kept in room.
func tighter(cur, room *octomesh.RateLimitState, st octomesh.RateLimitState) *octomesh.RateLimitState {
	if cur == nil || st.Remaining < cur.Remaining {
		*room = st
		return room
	}
	return cur
}

func orDefault(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

// Release returns the tokens an admitted request took from the token
// limits when it ends without using any (it was refused before it was
// sent). The request itself still counts against requests per minute.
func (m *Meter) Release(ctx context.Context, a *Admission) {
	m.correctTokens(context.WithoutCancel(ctx), a, 0)
}
