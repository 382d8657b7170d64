package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/ledger"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// A continuation that is itself cut, without a usage report, is billed by
// the estimate of the request it served (the caller's plus the prefill),
// not the caller's: the stream keeps that estimate once it drops requests.
func TestACutContinuationIsBilledByItsOwnPromptEstimate(t *testing.T) {
	scripts := map[string][]step{
		"a": {{text: "The answer is", cutAt: 2, cutErr: upErr(octomesh.EUPSTREAM, 0)}}, // "The " "answ", cut
		"b": {{text: "er is 42.", cutAt: 1, cutErr: upErr(octomesh.EUPSTREAM, 0)}},     // "er i", cut
		"c": {{text: "s 42.", usage: &octomesh.Usage{PromptTokens: 20, CompletionTokens: 2}}},
	}
	tb := newTestbed(t, scripts, []string{"a", "b", "c"}, timeouts{}, 0, nil, map[string]bool{"b": true, "c": true})
	tb.svc.planner = wrapMaxAttempts(tb.svc.planner, 5)
	req := streamReq("x/a")
	st, _, err := tb.svc.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	text, chunks, err := collectStream(t, st)
	if err != nil || text != "The answer is 42." {
		t.Fatalf("text %q err %v", text, err)
	}
	u := chunks[len(chunks)-1].Usage
	wantPrompt := req.EstimateTokens() + continuationRequest(req, "The answ").EstimateTokens() + 20
	if u == nil || u.PromptTokens != wantPrompt || u.CompletionTokens != 2+1+2 {
		t.Errorf("usage %+v, want %d prompt tokens (a's and b's estimates, c's report) and 5 completion tokens", u, wantPrompt)
	}
}

// usageByPrompt answers a chat with usage read from its prompt ("n=<k>":
// k prompt tokens, k+1 completion tokens), from any goroutine.
type usageByPrompt struct{ scripted }

func (*usageByPrompt) Chat(_ context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	var k int
	fmt.Sscanf(req.Messages[0].Content.Text(), "n=%d", &k)
	r := okResp()
	r.Usage = &octomesh.Usage{PromptTokens: k, CompletionTokens: k + 1, TotalTokens: 2*k + 1}
	return r, nil
}

// The room settle lends for ledger entries goes back to its pool (zeroed)
// when Settle returns: a ledger writer that acknowledges from its journal
// and applies entries to the store later (write-behind, the default on
// SQLite) must have copied them. Each request's entry, applied later, is
// its own.
func TestWriteBehindLedgerKeepsEveryRequestsOwnEntry(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateOrg(ctx, &octomesh.Org{ID: rigOrg, Name: rigOrg}, &octomesh.User{ID: "usr_rev", Name: "Owner"}, nil); err != nil {
		t.Fatal(err)
	}
	w, err := ledger.NewWriter(db, ledger.Options{SpoolDir: filepath.Join(t.TempDir(), "spool"), WriteBehind: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	m := meter.New(meter.Options{Counters: limit.NewMemory(nil), Ledger: w, Store: db})
	cat, err := NewCatalog([]octomesh.Deployment{
		{Name: "p/chat", Provider: "p", UpstreamModel: "chat-001", ContextWindow: 100_000, Capabilities: allCaps, Price: rigPrice},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": &usageByPrompt{scripted{id: "p"}}}, Meter: m})
	if err != nil {
		t.Fatal(err)
	}
	pctx := octomesh.WithPrincipal(ctx, &octomesh.Principal{OrgID: rigOrg, KeyID: "key_rev", Role: octomesh.RoleMember})
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for k := 1; k <= n; k++ {
		wg.Go(func() {
			req := userReq("p/chat")
			req.Messages[0].Content = octomesh.TextContent(fmt.Sprintf("n=%d", k))
			rctx := octomesh.WithLedgerRequestID(pctx, fmt.Sprintf("req_%d", k))
			if _, _, err := svc.Chat(rctx, req); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Journaled != n || s.Applied != 0 {
		t.Fatalf("journaled %d, applied %d: want every entry in the journal, none applied yet", s.Journaled, s.Applied)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := db.Entries(ctx, rigOrg, octomesh.EntryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != n {
		t.Fatalf("%d entries, want %d", len(es), n)
	}
	for _, e := range es {
		var k int
		fmt.Sscanf(strings.TrimPrefix(e.RequestID, "req_"), "%d", &k)
		if k == 0 || e.PromptTokens != int64(k) || e.CompletionTokens != int64(k+1) || e.Deployment != "p/chat" || e.KeyID != "key_rev" {
			t.Errorf("entry %+v: not request %q's own (%d and %d tokens on p/chat)", e, e.RequestID, k, k+1)
		}
	}
}
