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
func benchAppend(b *testing.B, size int) { benchAppendCtx(b, size, false, false) }

// benchAppendCtx is benchAppend, with each batch bounded by a timeout when
// deadline is set, as the ledger writer bounds its commits: the driver
// watches a cancellable context with a goroutine per statement. With mixed
// set, the entries' texts vary from entry to entry (keys, users, projects,
// models, providers, prices, outcomes), as under a mix of clients;
// otherwise they are all the same but the request id.
func benchAppendCtx(b *testing.B, size int, deadline, mixed bool) {
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
	cpu0 := cpuTime()
	for range b.N {
		for i := range batch {
			seq++
			batch[i] = octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "o", KeyID: "key_1", RequestID: "r" + strconv.Itoa(seq),
				Attempt: 1, Deployment: "sim/fast", Provider: "sim", PromptTokens: 10, CompletionTokens: 5, Cost: 7, Outcome: "ok",
				Start: start, End: start.Add(time.Second)}
			if mixed {
				e, m := &batch[i], mixedModels[seq%len(mixedModels)]
				e.KeyID, e.UserID, e.Project = mixedKeys[seq%len(mixedKeys)], mixedUsers[seq%len(mixedUsers)], mixedProjects[seq%len(mixedProjects)]
				e.Deployment, e.Provider, e.PriceVersion = m[0], m[1], m[2]
				if seq%13 == 0 {
					e.Outcome = "error"
				}
			}
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
	// Per entry, so that batch sizes compare; CPU time (the process's,
	// SQLite's and the garbage collector's included) moves less than wall
	// time on a busy machine.
	entries := float64(b.N * size)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/entries, "ns/entry")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/entries, "cpu-ns/entry")
}

// The texts of the mixed entries, each list's length prime to the others'.
var (
	mixedKeys     = []string{"key_1", "key_2", "key_3", "key_4", "key_5", "key_6", "key_7"}
	mixedUsers    = []string{"", "user_1", "user_2"}
	mixedProjects = []string{"", "project_1"}
	mixedModels   = [][3]string{{"sim/fast", "sim", "2026-01"}, {"sim/smart", "sim", "2026-02"}, {"sim/cheap", "sim", "2026-01"},
		{"gpt-x", "openai", "2026-03"}, {"claude-y", "anthropic", "2026-02"}} // deployment, provider, price version
)

func BenchmarkAppendEntries1(b *testing.B)   { benchAppend(b, 1) }
func BenchmarkAppendEntries16(b *testing.B)  { benchAppend(b, 16) }
func BenchmarkAppendEntries128(b *testing.B) { benchAppend(b, 128) }
func BenchmarkAppendEntries512(b *testing.B) { benchAppend(b, 512) }

// BenchmarkAppendEntries130 is a batch just past a statement size (128),
// so that most of its statement's rows are padding.
func BenchmarkAppendEntries130(b *testing.B) { benchAppend(b, 130) }

// BenchmarkAppendEntries128Timeout is BenchmarkAppendEntries128 with the
// ledger writer's commit timeout on the context.
func BenchmarkAppendEntries128Timeout(b *testing.B) { benchAppendCtx(b, 128, true, false) }

// BenchmarkAppendEntries128Mixed is BenchmarkAppendEntries128 with texts
// that vary from entry to entry.
func BenchmarkAppendEntries128Mixed(b *testing.B) { benchAppendCtx(b, 128, false, true) }
