package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/meter"
)

// DefaultReserveOutputTokens is how many output tokens a request without
// max_tokens reserves (capped by the model's own output limit).
const DefaultReserveOutputTokens = 4096

// metering is one request's admission, reservation and settlement. A nil
// *metering (no meter configured) does nothing.
type metering struct {
	m        *meter.Meter
	ledgerID string
	// wallNs is when the request arrived (unix nanoseconds), for the
	// ledger and prices: a time.Time is 16 bytes more, past the stream
	// state's size class (see TestAStreamsStateStaysSmall).
	wallNs int64
	adm    *meter.Admission
	res    *meter.Reservation // nil until reserved
	// admission and reservation are what adm and res point to.
	admission   meter.Admission
	reservation meter.Reservation
}

// wall is when the request arrived.
func (mt *metering) wall() time.Time { return time.Unix(0, mt.wallNs) }

// entryRoom lends settle room for the ledger entries of a request that
// made one attempt: Settle's writers copy what they keep
// (meter.LedgerWriter), and the 304 bytes of an entry kept in each
// request's state were held by every stream for its whole life.
var entryRoom = sync.Pool{New: func() any { return new([1]octomesh.LedgerEntry) }}

// admit applies rate limits, naming the caller's limits in served for the
// x-ratelimit-* headers (on a refusal too). It fills in *mt (nil: a new
// one) and returns it, or nil when there is no meter.
func (s *Service) admit(ctx context.Context, served *octomesh.Served, tokens int64, mt *metering) (*metering, error) {
	if s.meter == nil {
		return nil, nil
	}
	if mt == nil {
		mt = new(metering)
	}
	mt.m, mt.ledgerID, mt.wallNs = s.meter, octomesh.LedgerRequestIDFrom(ctx), time.Now().UnixNano()
	if mt.ledgerID == "" {
		mt.ledgerID = octomesh.NewID("req")
	}
	err := s.meter.AdmitInto(ctx, &mt.admission, octomesh.PrincipalFrom(ctx), tokens)
	served.Requests, served.Tokens = mt.admission.Requests, mt.admission.Tokens
	if err != nil {
		return nil, err
	}
	mt.adm = &mt.admission
	return mt, nil
}

// reserve holds the most the request can cost on any of the plan's
// candidates.
func (mt *metering) reserve(ctx context.Context, amount octomesh.Money) error {
	if mt == nil {
		return nil
	}
	if err := mt.m.ReserveInto(ctx, &mt.reservation, octomesh.PrincipalFrom(ctx), mt.adm, mt.ledgerID, amount); err != nil {
		mt.m.Release(ctx, mt.adm)
		return err
	}
	mt.res = &mt.reservation
	return nil
}

// release ends a reservation that was never used.
func (mt *metering) release(ctx context.Context) {
	if mt == nil {
		return
	}
	if mt.res == nil {
		mt.m.Release(ctx, mt.adm)
		return
	}
	mt.res.Release(ctx)
}

// billed is what one attempt is charged.
type billed struct {
	d       *octomesh.Deployment
	usage   metered
	attempt int // index of the attempt in the decision
}

// settle writes one ledger entry per upstream attempt of the decision
// (failed ones at zero cost, the ones in bill with their usage at the
// price in effect when the request arrived) and settles the reservation.
// An error means the usage could not be made durable.
func (mt *metering) settle(ctx context.Context, dec *octomesh.Decision, bill []billed) error {
	if mt == nil {
		return nil
	}
	if mt.res == nil {
		mt.release(ctx)
		return nil
	}
	var room *[1]octomesh.LedgerEntry
	var entries []octomesh.LedgerEntry
	if len(dec.Attempts) > len(room) {
		entries = make([]octomesh.LedgerEntry, 0, len(dec.Attempts))
	} else {
		room = entryRoom.Get().(*[1]octomesh.LedgerEntry)
		entries = room[:0]
		defer func() {
			*room = [1]octomesh.LedgerEntry{} // no strings kept alive from the pool
			entryRoom.Put(room)
		}()
	}
	for i := range dec.Attempts {
		// Filled in place: an entry built on the stack and appended was
		// 300 bytes of this frame, under the ledger's journaling.
		entries = append(entries, octomesh.LedgerEntry{})
		e, a := &entries[len(entries)-1], &dec.Attempts[i]
		e.Kind, e.RequestID, e.Attempt = octomesh.EntryUsage, mt.ledgerID, i+1
		e.Deployment, e.Provider, e.Outcome = a.Deployment, a.Provider, a.Outcome
		e.Start, e.End = mt.wall().Add(a.Start), mt.wall().Add(a.Start+a.Duration)
		if b := billFor(bill, i); b != nil {
			price, version := b.d.PriceAt(mt.wall())
			u := b.usage
			e.PriceVersion = version
			e.PromptTokens, e.CompletionTokens = int64(u.PromptTokens), int64(u.CompletionTokens)
			e.CachedTokens, e.CacheWriteTokens = int64(u.CachedTokens()), int64(u.CacheWriteTokens)
			e.Estimated = u.Estimated
			e.Cost = price.Cost(u.Usage)
		}
	}
	return mt.res.Settle(ctx, entries)
}

// billFor returns attempt i's usage in bill, or nil. bill is a slice, not
// a map: it has one or two entries, and a map sized on the stack made the
// settling frame of a stream 1 KiB larger.
func billFor(bill []billed, i int) *billed {
	for j := range bill {
		if bill[j].attempt == i {
			return &bill[j]
		}
	}
	return nil
}

// costOf prices usage on d at the request's arrival (the current price
// when there is no meter).
func (mt *metering) costOf(d *octomesh.Deployment, u octomesh.Usage) octomesh.Money {
	t := time.Now()
	if mt != nil {
		t = mt.wall()
	}
	p, _ := d.PriceAt(t)
	return p.Cost(u)
}

// maxCost is the most req can cost on any candidate of p: the prompt
// estimate plus max_tokens (or the model's output limit, capped at
// DefaultReserveOutputTokens, when the request sets none).
func maxCost(p *plan, req *octomesh.ChatRequest, promptTokens int) octomesh.Money {
	var worst octomesh.Money
	now := time.Now()
	for _, a := range p.attempts {
		price, _ := a.d.PriceAt(now)
		c := price.Cost(octomesh.Usage{PromptTokens: promptTokens, CompletionTokens: maxOutput(req, a.d)})
		worst = max(worst, c)
	}
	return worst
}

// maxOutput is the most output tokens req may produce on d.
func maxOutput(req *octomesh.ChatRequest, d *octomesh.Deployment) int {
	n := req.MaxOutputTokens()
	if n <= 0 {
		n = DefaultReserveOutputTokens
		if d != nil && d.MaxOutputTokens > 0 && d.MaxOutputTokens < n {
			n = d.MaxOutputTokens
		}
	}
	return n
}
