package gateway

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// announcedLedger is a ledger writer that notes a write made during a Next
// the stream had announced as ready (Buffered > 0): with PostgreSQL, or
// Redis counters, settling is a round trip on the network, and a relay
// that did not flush because of the announcement holds the answer's last
// bytes back from the client for that long.
type announcedLedger struct {
	announced atomic.Bool
	writes    atomic.Int64
	violated  atomic.Bool
}

func (l *announcedLedger) Write(context.Context, ...octomesh.LedgerEntry) error {
	l.writes.Add(1)
	if l.announced.Load() {
		l.violated.Store(true)
	}
	return nil
}

// A stream that reports a chunk (or its end) as buffered must not then
// settle its usage in the next Next: settling writes the ledger, which may
// wait on a database. The final usage chunk is emitted once the usage is
// settled, so that reporting the end as buffered after it stays true.
func TestStreamSettlesBeforeReportingItsEndBuffered(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateOrg(ctx, &octomesh.Org{ID: rigOrg, Name: rigOrg}, &octomesh.User{ID: "usr_rev", Name: "Owner"}, nil); err != nil {
		t.Fatal(err)
	}
	l := &announcedLedger{}
	m := meter.New(meter.Options{Counters: limit.NewMemory(nil), Ledger: l, Store: db})
	p := &scripted{id: "p", chunks: streamChunks(&octomesh.Usage{PromptTokens: 10, CompletionTokens: 5})}
	cat, err := NewCatalog(testDeployments(), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": p}, Meter: m})
	if err != nil {
		t.Fatal(err)
	}
	pctx := octomesh.WithPrincipal(ctx, &octomesh.Principal{OrgID: rigOrg, KeyID: "key_rev", Role: octomesh.RoleMember})
	req := userReq("p/big")
	req.Stream = true
	st, _, err := svc.ChatStream(pctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := st.(octomesh.BufferedStream)
	sawUsage := false
	for st.Next() {
		if c := st.Chunk(); c.Usage != nil && len(c.Choices) == 0 {
			sawUsage = true
			if b.Buffered() == 0 {
				t.Errorf("after the final usage chunk: Buffered 0, want > 0 (the end is here)")
			}
		}
		l.announced.Store(b.Buffered() > 0)
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if !sawUsage {
		t.Fatal("no usage chunk")
	}
	if n := l.writes.Load(); n != 1 {
		t.Fatalf("%d ledger writes, want 1", n)
	}
	if l.violated.Load() {
		t.Error("the ledger was written (settling the usage) during a Next the stream had announced as buffered")
	}
}
