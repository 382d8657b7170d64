package billing

import (
	"context"
	"unicode"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
)

// MaxTopUp bounds one top-up, so no typo (or a forged amount) can credit
// an absurd sum or overflow a balance.
const MaxTopUp = 1_000_000 * octomesh.Dollar

// TopUp is a manual credit: an operator records money received outside
// the payment processor (a wire transfer, a goodwill credit).
type TopUp struct {
	OrgID  string
	Amount octomesh.Money // > 0
	// Reference makes the top-up idempotent: a second top-up with the same
	// reference records nothing. Empty: a fresh one is generated (then a
	// retry credits twice). 1-100 characters: letters, digits, - _ . :
	Reference string
	Note      string // free text shown in the ledger, up to 200 characters; never content
}

// Credit is the outcome of a top-up.
type Credit struct {
	OrgID     string
	RequestID string         // the ledger entry's request id
	Amount    octomesh.Money // credited
	Recorded  bool           // false when the reference was recorded before (a replay)
}

// GrantCredit records a manual top-up as an EntryTopUp ledger entry and,
// when it is new, calls OnCredit. It returns EINVALID for a bad amount,
// reference or note, ENOTFOUND for an unknown organisation, or the store's
// error.
func (s *Service) GrantCredit(ctx context.Context, t TopUp) (*Credit, error) {
	switch {
	case t.Amount <= 0 || t.Amount > MaxTopUp:
		return nil, octomesh.Errorf(octomesh.EINVALID, "amount must be more than 0 and at most %s dollars", MaxTopUp).WithParam("amount")
	case t.Reference != "" && !validReference(t.Reference):
		return nil, octomesh.Errorf(octomesh.EINVALID, "reference must be 1 to 100 letters, digits, '-', '_', '.' or ':'").WithParam("reference")
	case !validNote(t.Note):
		return nil, octomesh.Errorf(octomesh.EINVALID, "note must be at most 200 characters without control characters").WithParam("note")
	}
	if _, err := s.o.Orgs.Org(ctx, t.OrgID); err != nil {
		return nil, err
	}
	ref := t.Reference
	if ref == "" {
		ref = octomesh.NewID("cr")
	}
	now := s.o.Now().UTC()
	e := octomesh.LedgerEntry{Kind: octomesh.EntryTopUp, OrgID: t.OrgID, RequestID: "manual:" + ref, Cost: -t.Amount,
		Ref: ref, Note: t.Note, Outcome: "ok", Start: now, End: now}
	return s.credit(ctx, e)
}

// credit appends a top-up entry and reports it to OnCredit when new.
func (s *Service) credit(ctx context.Context, e octomesh.LedgerEntry) (*Credit, error) {
	n, err := s.o.Ledger.AppendEntries(ctx, []octomesh.LedgerEntry{e})
	if err != nil {
		return nil, err
	}
	c := &Credit{OrgID: e.OrgID, RequestID: e.RequestID, Amount: -e.Cost, Recorded: n == 1}
	if c.Recorded && s.o.OnCredit != nil {
		s.o.OnCredit(e.OrgID, c.Amount)
	}
	return c, nil
}

func validReference(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func validNote(s string) bool {
	if len(s) > 200 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
