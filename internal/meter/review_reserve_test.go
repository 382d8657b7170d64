package meter_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
)

// lostReply is a counter backend whose Reserve is applied but whose reply
// is lost (a timeout after Redis ran the script): the outcome of a failed
// call is unknown, as the limit package documents.
type lostReply struct{ limit.Counters }

func (c lostReply) Reserve(ctx context.Context, id string, accts []limit.Account, amount int64, ttl time.Duration) (int, error) {
	if _, err := c.Counters.Reserve(ctx, id, accts, amount, ttl); err != nil {
		return 0, err
	}
	return 0, octomesh.Errorf(octomesh.EUNAVAILABLE, "limit: redis").WithCause(errors.New("i/o timeout"))
}

// A Reserve that failed with an unknown outcome is released (best effort),
// so it cannot hold budget that no request will ever settle until its TTL;
// it used to be left to lapse, refusing requests for up to 15 minutes.
func TestReviewFailedReserveIsReleased(t *testing.T) {
	mem := limit.NewMemory(nil)
	for _, hard := range []bool{true, false} {
		r := newRig(t, meter.Options{Counters: lostReply{mem}})
		ctx := context.Background()
		id := "bud_soft"
		if hard {
			id = "bud_hard"
		}
		r.budget(t, octomesh.Budget{ID: id, OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodTotal, Limit: 1000, Hard: hard})
		_, err := r.m.Reserve(ctx, principal("org_a", "key_1"), nil, "req_1", 600)
		if hard && code(err) != octomesh.EUNAVAILABLE {
			t.Fatalf("hard: err = %v, want unavailable", err)
		}
		if !hard && err != nil {
			t.Fatalf("soft: err = %v, want admitted", err)
		}
		_, reserved, err := mem.Balance(ctx, limit.Account{Key: "b:" + id, Limit: 1000, Hard: hard})
		if err != nil {
			t.Fatal(err)
		}
		if reserved != 0 {
			t.Errorf("hard %v: %d still reserved after the failed Reserve, want 0", hard, reserved)
		}
	}
}
