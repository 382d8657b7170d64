package postgres

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/storetest"
)

// benchAppend commits b.N transactions of size entries each, one after
// another: the ledger writer's cost per batch on an idle system (size 1)
// and under load (larger batches). Wall time here is mostly round trips.
func benchAppend(b *testing.B, size int) {
	dsn := storetest.PostgresDSN(b)
	ctx := context.Background()
	db, err := Open(ctx, dsn)
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
		if n, err := db.AppendEntries(ctx, batch); err != nil || n != size {
			b.Fatalf("AppendEntries = %d, %v; want %d", n, err, size)
		}
	}
}

func BenchmarkAppendEntries1(b *testing.B)  { benchAppend(b, 1) }
func BenchmarkAppendEntries16(b *testing.B) { benchAppend(b, 16) }
