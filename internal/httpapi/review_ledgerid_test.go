package httpapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// ledgerIDService records the ledger request id each chat request carries.
type ledgerIDService struct {
	*fakeService
	ids []string
}

func (s *ledgerIDService) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, *octomesh.Served, error) {
	s.ids = append(s.ids, octomesh.LedgerRequestIDFrom(ctx))
	return s.fakeService.Chat(ctx, req)
}

// A caller's X-Request-Id of the longest accepted length still gives a
// ledger request id the ledger accepts (at most 128 bytes) and unique per
// request; it used to exceed 128 bytes, so every such request failed to
// record its usage after the provider had answered.
func TestReviewLongCallerRequestIDFitsTheLedger(t *testing.T) {
	svc := &ledgerIDService{fakeService: &fakeService{}}
	s := New(Options{Service: svc, Auth: fakeAuth{}, MaxBodyBytes: 4096})
	callerID := strings.Repeat("a", 128)
	for range 2 {
		if w := do(t, s, "POST", "/v1/chat/completions", okChat, "X-Request-Id", callerID); w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if len(svc.ids) != 2 || svc.ids[0] == svc.ids[1] {
		t.Fatalf("ledger ids %q, want two different ones", svc.ids)
	}
	for _, id := range svc.ids {
		e := octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "org_a", RequestID: id, Attempt: 1, Start: time.Now()}
		if err := e.Validate(); err != nil {
			t.Errorf("ledger id %q (%d bytes): %v", id, len(id), err)
		}
	}
}
