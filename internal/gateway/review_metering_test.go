package gateway

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/ledger"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// meterRig is a Service metered by a real meter: SQLite, the group-commit
// ledger writer and in-memory counters.
type meterRig struct {
	svc *Service
	db  *sqlite.DB
	ctx context.Context // carries the caller's principal
}

const rigOrg = "org_rev"

var rigPrice = octomesh.Price{InputPerMTok: 10 * octomesh.Dollar, OutputPerMTok: 30 * octomesh.Dollar}

func newMeterRig(t *testing.T, p octomesh.Provider) *meterRig {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateOrg(ctx, &octomesh.Org{ID: rigOrg, Name: rigOrg}, &octomesh.User{ID: "usr_rev", Name: "Owner"}, nil); err != nil {
		t.Fatal(err)
	}
	w, err := ledger.NewWriter(db, ledger.Options{SpoolDir: filepath.Join(t.TempDir(), "spool")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	m := meter.New(meter.Options{Counters: limit.NewMemory(nil), Ledger: w, Store: db})
	cat, err := NewCatalog([]octomesh.Deployment{
		{Name: "p/chat", Provider: "p", UpstreamModel: "chat-001", ContextWindow: 100_000, Capabilities: allCaps, Price: rigPrice},
		{Name: "p/embed", Provider: "p", UpstreamModel: "embed-001", Capabilities: octomesh.Capabilities{Embeddings: true}, Price: rigPrice},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": p}, Meter: m})
	if err != nil {
		t.Fatal(err)
	}
	pr := &octomesh.Principal{OrgID: rigOrg, KeyID: "key_rev", Role: octomesh.RoleMember}
	return &meterRig{svc: svc, db: db, ctx: octomesh.WithPrincipal(ctx, pr)}
}

// entries returns every ledger entry of the rig's organisation.
func (r *meterRig) entries(t *testing.T) []octomesh.LedgerEntry {
	t.Helper()
	es, err := r.db.Entries(context.Background(), rigOrg, octomesh.EntryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// embedder is a scripted provider that also embeds, reporting no usage
// (as some OpenAI-compatible servers do).
type embedder struct{ scripted }

func (e *embedder) Embed(_ context.Context, req *octomesh.EmbeddingRequest) (*octomesh.EmbeddingResponse, error) {
	out := &octomesh.EmbeddingResponse{Object: "list", Model: req.Model}
	for i := range req.Input {
		out.Data = append(out.Data, octomesh.Embedding{Object: "embedding", Index: i, Embedding: []float32{1, 0}})
	}
	return out, nil
}

// An embeddings provider that reports no usage is billed by the estimate
// (marked as such), as chat is; it used to be recorded at zero cost.
func TestReviewEmbedWithoutUsageIsEstimated(t *testing.T) {
	r := newMeterRig(t, &embedder{scripted{id: "p"}})
	req := &octomesh.EmbeddingRequest{Model: "p/embed", Input: octomesh.EmbeddingInput{"the quick brown fox jumps over the lazy dog"}}
	_, served, err := r.svc.Embed(r.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := rigPrice.Cost(octomesh.Usage{PromptTokens: req.EstimateTokens()})
	if want == 0 {
		t.Fatal("test needs a non-zero estimate")
	}
	if served.Cost != want {
		t.Errorf("served cost = %d, want %d", served.Cost, want)
	}
	es := r.entries(t)
	if len(es) != 1 {
		t.Fatalf("%d ledger entries, want 1", len(es))
	}
	if e := es[0]; e.Cost != want || e.PromptTokens != int64(req.EstimateTokens()) || !e.Estimated {
		t.Errorf("entry cost %d prompt %d estimated %v, want %d, %d, true", e.Cost, e.PromptTokens, e.Estimated, want, req.EstimateTokens())
	}
}
