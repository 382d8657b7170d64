package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// benchAppend commits b.N transactions of size entries each, one after
// another: the ledger writer's cost per batch on an idle system (size 1)
// and under load (larger batches).
func benchAppend(b *testing.B, size int) { benchAppendCtx(b, size, false) }

// benchAppendCtx is benchAppend, with each batch bounded by a timeout when
// deadline is set, as the ledger writer bounds its commits: the driver
// watches a cancellable context with a goroutine per statement.
func benchAppendCtx(b *testing.B, size int, deadline bool) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "o.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.CreateOrg(ctx, &octomesh.Org{ID: "o", Name: "O"}, &octomesh.User{ID: "u", Name: "U"}, nil); err != nil {
		b.Fatal(err)
	}
	start := time.Unix(1700000000, 0)
	batch := make([]octomesh.LedgerEntry, size)
	seq := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i := range batch {
			seq++
			batch[i] = octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "o", KeyID: "key_1", RequestID: "r" + strconv.Itoa(seq),
				Attempt: 1, Deployment: "sim/fast", Provider: "sim", PromptTokens: 10, CompletionTokens: 5, Cost: 7, Outcome: "ok",
				Start: start, End: start.Add(time.Second)}
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if deadline {
			actx, cancel = context.WithTimeout(ctx, 5*time.Second)
		}
		n, err := db.AppendEntries(actx, batch)
		cancel()
		if err != nil || n != size {
			b.Fatalf("AppendEntries = %d, %v; want %d", n, err, size)
		}
	}
}

func BenchmarkAppendEntries1(b *testing.B)   { benchAppend(b, 1) }
func BenchmarkAppendEntries16(b *testing.B)  { benchAppend(b, 16) }
func BenchmarkAppendEntries128(b *testing.B) { benchAppend(b, 128) }

// BenchmarkAppendEntries128Timeout is BenchmarkAppendEntries128 with the
// ledger writer's commit timeout on the context.
func BenchmarkAppendEntries128Timeout(b *testing.B) { benchAppendCtx(b, 128, true) }
