package ledger

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// benchWriters is the number of concurrent writers in the benchmarks.
const benchWriters = 64

// benchWrite runs Write from 64 goroutines, one entry per call, and
// reports entries per second and entries per transaction.
func benchWrite(b *testing.B, store octomesh.LedgerStore) {
	counting := &switchStore{LedgerStore: store}
	w := newWriter(b, counting, Options{SpoolDir: b.TempDir()})
	var seq atomic.Int64
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Write(context.Background(), entry(fmt.Sprintf("b-%d", seq.Add(1)), 1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	calls := counting.calls.Load()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(b.N)/float64(max(calls, 1)), "entries/batch")
}

// BenchmarkWriteSQLite is the group-commit Writer on SQLite.
func BenchmarkWriteSQLite(b *testing.B) { benchWrite(b, openSQLite(b)) }

// BenchmarkWritePostgres is the group-commit Writer on PostgreSQL.
func BenchmarkWritePostgres(b *testing.B) {
	db, _ := openPostgres(b)
	benchWrite(b, db)
}

// BenchmarkAppendDirectSQLite is the baseline: each of 64 goroutines
// commits its own entry in its own transaction.
func BenchmarkAppendDirectSQLite(b *testing.B) {
	db := openSQLite(b)
	var seq atomic.Int64
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.AppendEntries(context.Background(), []octomesh.LedgerEntry{entry(fmt.Sprintf("b-%d", seq.Add(1)), 1)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkWriteJournal is the default on SQLite: Write acknowledges once
// the entry is in the write-behind journal, and the drain applies it.
func BenchmarkWriteJournal(b *testing.B) {
	w := newWriter(b, openSQLite(b), Options{SpoolDir: b.TempDir(), WriteBehind: 20 * time.Millisecond})
	var seq atomic.Int64
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Write(context.Background(), entry(fmt.Sprintf("b-%d", seq.Add(1)), 1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if err := w.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}
