package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// gatedStore holds its first AppendEntries until open is closed, so that
// a test can queue callers behind it.
type gatedStore struct {
	octomesh.LedgerStore
	entered chan struct{}
	open    chan struct{}
	first   bool
}

func (g *gatedStore) AppendEntries(ctx context.Context, es []octomesh.LedgerEntry) (int, error) {
	if !g.first {
		g.first = true // only the committer calls the store
		close(g.entered)
		<-g.open
	}
	return g.LedgerStore.AppendEntries(ctx, es)
}

// multiCallerCommit makes w commit one batch of two callers, and returns
// when both have their answer.
func multiCallerCommit(t *testing.T, w *Writer, g *gatedStore) {
	t.Helper()
	ctx := context.Background()
	errs := make(chan error, 3)
	go func() { errs <- w.Write(ctx, entry("r1", 1)) }()
	<-g.entered
	go func() { errs <- w.Write(ctx, entry("r2", 1)) }()
	go func() { errs <- w.Write(ctx, entry("r3", 1)) }()
	for w.queuedEntries() < 2 {
		time.Sleep(time.Millisecond)
	}
	close(g.open)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func (w *Writer) queuedEntries() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued
}

// TestLingerOnlyUnderLoad checks that a write right after a commit that
// served several callers waits for company (up to Linger after it), and
// that a write on a system idle for Linger does not wait at all.
func TestLingerOnlyUnderLoad(t *testing.T) {
	const linger = time.Second
	for _, tc := range []struct {
		name    string
		idle    time.Duration
		atLeast time.Duration
		atMost  time.Duration
	}{
		{"busy", 0, linger / 2, 5 * linger},
		{"idle", linger + 100*time.Millisecond, 0, linger * 7 / 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &gatedStore{LedgerStore: openSQLite(t), entered: make(chan struct{}), open: make(chan struct{})}
			w := newWriter(t, g, Options{Linger: linger})
			multiCallerCommit(t, w, g)
			time.Sleep(tc.idle)
			start := time.Now()
			if err := w.Write(context.Background(), entry("r4", 1)); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took < tc.atLeast || took > tc.atMost {
				t.Errorf("the write took %v, want between %v and %v", took, tc.atLeast, tc.atMost)
			}
		})
	}
}

// TestLingerNever checks that a negative Linger turns lingering off.
func TestLingerNever(t *testing.T) {
	g := &gatedStore{LedgerStore: openSQLite(t), entered: make(chan struct{}), open: make(chan struct{})}
	w := newWriter(t, g, Options{Linger: -1})
	multiCallerCommit(t, w, g)
	start := time.Now()
	if err := w.Write(context.Background(), entry("r4", 1)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("the write took %v with lingering off", took)
	}
}
