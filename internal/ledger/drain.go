package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
)

// drainLoop replays the spool into the store: at once when replayNow (a
// previous run's spool), then RetryMin after something was spooled,
// backing off to RetryMax while the store fails.
func (w *Writer) drainLoop(replayNow bool) {
	defer close(w.drainDone)
	var backoff time.Duration
	for {
		if !replayNow {
			if backoff == 0 {
				select {
				case <-w.drainKick:
					backoff = w.o.RetryMin // the store just failed: give it a moment
					if w.o.WriteBehind > 0 {
						backoff = w.o.WriteBehind // a batch was journaled: let more join it
					}
				case <-w.stopDrain:
					return
				case <-w.ctx.Done():
					return
				}
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-w.stopDrain:
				t.Stop()
				return
			case <-w.ctx.Done():
				t.Stop()
				return
			}
		}
		replayNow = false
		if err := w.replay(w.ctx); err != nil {
			if w.ctx.Err() != nil {
				return
			}
			if w.o.WriteBehind > 0 {
				// The journal keeps acknowledging, but the store is
				// failing: say so (octomesh_ledger_degraded) until a
				// replay succeeds.
				w.spool.markDegraded()
			}
			backoff = min(max(2*backoff, w.o.RetryMin), w.o.RetryMax)
			w.log.Warn("ledger: the database is still unavailable; usage stays spooled",
				slog.String("error", err.Error()), slog.Duration("retry_in", backoff))
			continue
		}
		backoff = 0
	}
}

// Flush makes everything acknowledged so far readable in the store: with
// WriteBehind it applies the journal now (Sync); otherwise acknowledged
// entries are already there and it returns nil at once.
func (w *Writer) Flush(ctx context.Context) error {
	if w.o.WriteBehind <= 0 {
		return nil
	}
	return w.Sync(ctx)
}

// Sync replays everything spooled into the store now and returns nil once
// what was spooled before the call is in the store, or the store's error (the rest stays spooled and
// the background drain keeps trying). Without a spool it returns nil.
func (w *Writer) Sync(ctx context.Context) error {
	if w.spool == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(w.ctx, cancel) // a crash or an abandoned Close ends it too
	defer stop()
	return w.replay(ctx)
}

// replay replays the segments spooled so far oldest first, deleting each
// once it is in the store; finding none ends degraded mode. It makes one
// pass: what is spooled meanwhile kicks the drain for the next one, and a
// loop until the spool is empty would never end (nor let a Flush, or any
// read through Consistent, return) while the gateway has steady traffic.
func (w *Writer) replay(ctx context.Context) error {
	w.drainMu.Lock()
	defer w.drainMu.Unlock()
	segs := w.spool.next()
	recovered := false // a spool (not this run's journal) was replayed
	for _, seg := range segs {
		if err := w.replaySegment(ctx, seg); err != nil {
			return err
		}
		if err := w.spool.remove(seg); err != nil {
			return err
		}
		recovered = recovered || !seg.journal
	}
	if recovered {
		w.log.Info("ledger: the spool is replayed; usage goes to the database again")
	}
	return nil
}

// replaySegment appends a segment's records to the store, MaxBatch at a
// time. The first batch the store takes ends degraded mode.
func (w *Writer) replaySegment(ctx context.Context, seg segment) error {
	if seg.journal {
		for rest := seg.mem; len(rest) > 0; {
			n := min(len(rest), w.o.MaxBatch)
			if err := w.replayBatch(ctx, rest[:n], &w.applied); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	}
	f, err := os.Open(seg.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ledger spool: %w", err)
	}
	defer f.Close()
	skipped, err := readSegment(f, w.o.MaxBatch, func(entries []octomesh.LedgerEntry) error {
		return w.replayBatch(ctx, entries, &w.replayed)
	})
	if skipped > 0 {
		w.torn.Add(int64(skipped))
		w.log.Warn("ledger: skipped torn or corrupt spool records (never acknowledged if torn by a crash)",
			slog.String("segment", seg.path), slog.Int("records", skipped))
	}
	return err
}

// replayBatch appends one batch of spooled entries, counting them in done.
// Entries the store refuses as invalid are set aside one by one, so they
// cannot block the spool forever.
func (w *Writer) replayBatch(ctx context.Context, entries []octomesh.LedgerEntry, done *atomic.Int64) error {
	err := w.appendReplay(ctx, entries)
	if err == nil {
		done.Add(int64(len(entries)))
		w.spool.heal()
		return nil
	}
	if octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		return err
	}
	for i := range entries {
		one := entries[i : i+1]
		err := w.appendReplay(ctx, one)
		switch {
		case err == nil:
			done.Add(1)
		case octomesh.ErrorCodeOf(err) == octomesh.EINVALID:
			if rerr := w.spool.reject(one); rerr != nil {
				return fmt.Errorf("ledger spool: keep a rejected entry: %w", rerr)
			}
			w.rejected.Add(1)
			w.log.Error("ledger: the database refused a spooled entry; kept in "+rejectedFile,
				slog.String("request_id", one[0].RequestID), slog.String("error", err.Error()))
		default:
			return err
		}
	}
	w.spool.heal()
	return nil
}

func (w *Writer) appendReplay(ctx context.Context, entries []octomesh.LedgerEntry) error {
	ctx, cancel := context.WithTimeout(ctx, w.o.CommitTimeout)
	defer cancel()
	_, err := w.store.AppendEntries(ctx, entries)
	if err != nil && octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		w.storeErrors.Add(1)
	}
	return err
}
