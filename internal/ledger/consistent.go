package ledger

import (
	"context"
	"time"

	"github.com/octomesh/octomesh"
)

// Consistent is a MeterStore whose ledger reads see every entry its Writer
// has acknowledged: with WriteBehind, each read first applies the journal
// (Writer.Flush). Writes and the other stores pass straight through.
//
// The guarantee is per node: another node's journal reaches the shared
// database within that node's WriteBehind.
type Consistent struct {
	octomesh.MeterStore
	W *Writer
}

var _ octomesh.MeterStore = Consistent{}

func (c Consistent) Entries(ctx context.Context, orgID string, f octomesh.EntryFilter) ([]octomesh.LedgerEntry, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	return c.MeterStore.Entries(ctx, orgID, f)
}

func (c Consistent) UsageReport(ctx context.Context, orgID string, f octomesh.EntryFilter, groups []octomesh.UsageGroup) ([]octomesh.UsageRow, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	return c.MeterStore.UsageReport(ctx, orgID, f, groups)
}

func (c Consistent) SpendSince(ctx context.Context, orgID string, scope octomesh.BudgetScope, subject string, since time.Time) (octomesh.Money, error) {
	if err := c.flush(ctx); err != nil {
		return 0, err
	}
	return c.MeterStore.SpendSince(ctx, orgID, scope, subject, since)
}

func (c Consistent) Balance(ctx context.Context, orgID string) (octomesh.Money, error) {
	if err := c.flush(ctx); err != nil {
		return 0, err
	}
	return c.MeterStore.Balance(ctx, orgID)
}

func (c Consistent) flush(ctx context.Context) error {
	if err := c.W.Flush(ctx); err != nil {
		return octomesh.Errorf(octomesh.EUNAVAILABLE, "usage is not readable yet: the database is unavailable").WithCause(err)
	}
	return nil
}
