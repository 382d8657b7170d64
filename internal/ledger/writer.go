// Package ledger writes usage ledger entries durably with group commit.
//
// A Writer sits in front of an octomesh.LedgerStore. Write returns once its
// entries are durable: committed in the database or, while the database
// fails, appended and fsynced to a local spool file. Concurrent writers
// share transactions: one goroutine takes whatever is queued (up to
// MaxBatch entries) and commits it in one AppendEntries call, then wakes
// every caller of that batch; what queues meanwhile forms the next batch.
// A lone writer on an idle system pays one transaction and never waits
// for company.
//
// With Options.WriteBehind set, a batch is acknowledged once it is appended
// to the local journal (the spool directory, written without fsync: it
// survives a crash of the process, as SQLite's WAL with synchronous=NORMAL
// does, but not of the machine), and the drain applies journaled entries
// to the store at most WriteBehind later, hundreds per transaction.
// Readers that need their own writes call Flush (or read through
// Consistent). Under load (the last commit, less than Linger ago, served
// several callers) the committer waits until Linger after that commit, or
// until MaxBatch entries are queued, so that batches grow and fewer
// transactions carry the same entries.
//
// Lifecycle: NewWriter opens the spool directory and starts two goroutines,
// the committer and the drain. When a commit fails, the batch goes to the
// spool and the Writer turns degraded: later batches go straight to the
// spool (no caller waits on a dead database) while the drain retries the
// database with backoff, replays the spool oldest first (the ledger's
// idempotent (org, request, attempt, kind) identity makes a replay after a
// crash harmless) and deletes replayed segments. A spool left by a crash is
// replayed the same way on start. Close flushes what is queued, tries a
// last replay, and stops both goroutines.
package ledger

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
)

// Defaults for Options.
const (
	DefaultSpoolMaxBytes = 64 << 20
	DefaultMaxBatch      = 512
	DefaultCommitTimeout = 5 * time.Second
	DefaultRetryMin      = 100 * time.Millisecond
	DefaultRetryMax      = 5 * time.Second
	DefaultLinger        = time.Millisecond
)

// Options configure a Writer. Zero values take the defaults.
type Options struct {
	// SpoolDir is the spool's directory, inside the data directory (e.g.
	// <data>/ledger-spool); one Writer (one process) per directory. ""
	// disables the spool: while the store fails, Write fails.
	SpoolDir string
	// SpoolMaxBytes bounds the spool on disk (default 64 MiB). When a
	// batch does not fit, its Write fails with EUNAVAILABLE: requests fail
	// rather than lose usage.
	SpoolMaxBytes int64
	// MaxBatch bounds the entries of one transaction (default 512). One
	// Write's entries are never split, so a larger Write makes a larger
	// batch.
	MaxBatch int
	// Linger bounds how long the committer waits for a batch to grow
	// under load (default 1ms; negative: never): when the last commit
	// served several callers, a batch taken within Linger of its end
	// waits until Linger after it. After a lone caller's commit, or on a
	// system idle for Linger, nobody waits.
	Linger time.Duration
	// CommitTimeout bounds one AppendEntries call (default 5s): a database
	// that hangs counts as failing, and the batch is spooled.
	CommitTimeout time.Duration
	// RetryMin and RetryMax bound the drain's exponential backoff between
	// attempts to replay the spool (defaults 100ms and 5s).
	RetryMin, RetryMax time.Duration
	// Logger receives outages, recoveries and spool problems (default:
	// discard). Entries' request ids may be logged; nothing else of them.
	Logger *slog.Logger
	// WriteBehind, when positive (and SpoolDir is set), acknowledges a
	// batch once it is in the local journal and applies it to the store
	// within this delay (see the package comment). Zero: every batch is
	// committed to the store before its callers return.
	WriteBehind time.Duration
}

func (o *Options) defaults() {
	if o.SpoolMaxBytes <= 0 {
		o.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Linger == 0 {
		o.Linger = DefaultLinger
	}
	if o.WriteBehind > 0 && o.SpoolDir != "" {
		o.Linger = -1 // a journal append is cheap: no batch waits for company
	} else {
		o.WriteBehind = 0
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = DefaultCommitTimeout
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats are a Writer's counters since it started, for telemetry.
type Stats struct {
	Batches     int64 // transactions committed for callers (not replays)
	Entries     int64 // entries committed for callers, duplicates included
	Spooled     int64 // entries acknowledged from the spool
	Replayed    int64 // spooled entries replayed into the store
	StoreErrors int64 // failed AppendEntries calls (commits and replays)
	TornRecords int64 // spool lines skipped on replay: torn by a crash, or corrupt
	Rejected    int64 // spooled entries the store refused as invalid (kept in rejected.jsonl)
	SpoolBytes  int64 // the spool's size now
	Degraded    bool  // batches go straight to the spool until a replay succeeds
	Journaled   int64 // entries acknowledged from the journal (WriteBehind)
	Applied     int64 // journaled entries applied to the store
}

// request is one Write call waiting for its batch.
type request struct {
	entries []octomesh.LedgerEntry
	done    chan error // buffered: the committer never blocks on a caller that left
}

// Writer writes ledger entries durably with group commit. It is safe for
// concurrent use.
type Writer struct {
	store octomesh.LedgerStore
	o     Options
	log   *slog.Logger
	spool *spool // nil without SpoolDir

	// gate and closing order direct journal appends (journalDirect, under
	// gate's read lock) before Close (which sets closing under its lock).
	gate    sync.RWMutex
	closing bool

	mu     sync.Mutex
	queue  []*request
	queued int // entries in queue
	closed bool

	// busy is set when the last commit (which ended at lastEnd) served
	// several callers: a take within Linger of lastEnd waits until then
	// for more. lingerTimer is reused. All three are the committer's own.
	busy        bool
	lastEnd     time.Time
	lingerTimer *time.Timer

	wake      chan struct{} // work was queued, or Close was called
	drainKick chan struct{} // something was spooled
	stopDrain chan struct{} // closed by Close once the committer is done
	drainMu   sync.Mutex    // one replay at a time (the drain, Sync, Close)

	// ctx ends every store call when Close gives up (or a test crashes
	// the writer); cancel ends it.
	ctx    context.Context
	cancel context.CancelFunc

	committerDone, drainDone chan struct{}

	batches, entries, spooled, replayed, storeErrors, torn, rejected, journaled, applied atomic.Int64
}

// NewWriter returns a started Writer over store. It opens (creating) the
// spool directory and schedules the replay of any spool a previous run
// left. It fails only when the spool directory cannot be used.
func NewWriter(store octomesh.LedgerStore, opts Options) (*Writer, error) {
	opts.defaults()
	w := &Writer{
		store: store, o: opts, log: opts.Logger,
		wake: make(chan struct{}, 1), drainKick: make(chan struct{}, 1), stopDrain: make(chan struct{}),
		committerDone: make(chan struct{}), drainDone: make(chan struct{}),
	}
	if opts.SpoolDir != "" {
		sp, err := openSpool(opts.SpoolDir, opts.SpoolMaxBytes)
		if err != nil {
			return nil, err
		}
		w.spool = sp
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.commitLoop()
	if w.spool != nil {
		n, _ := w.spool.state()
		if n > 0 {
			w.log.Warn("ledger: replaying the spool a previous run left", slog.Int64("bytes", n))
		}
		go w.drainLoop(n > 0)
	} else {
		close(w.drainDone)
	}
	return w, nil
}

func errClosed() error {
	return octomesh.Errorf(octomesh.EUNAVAILABLE, "usage cannot be recorded: the ledger writer is closed")
}

// Write stores entries durably and returns nil once they are committed in
// the store or fsynced to the spool. It returns EINVALID for an invalid
// entry (nothing is written), EUNAVAILABLE when the store fails and the
// spool is full, unusable or disabled, or when the Writer is closed. If
// ctx ends first, Write returns ctx's error and the entries may still be
// written: writing them again is harmless (the ledger is idempotent).
func (w *Writer) Write(ctx context.Context, entries ...octomesh.LedgerEntry) error {
	if len(entries) == 0 {
		return nil
	}
	for i := range entries {
		if err := entries[i].Validate(); err != nil {
			return err
		}
	}
	if w.o.WriteBehind > 0 && w.journalDirect(entries) {
		return nil
	}
	r := &request{entries: append([]octomesh.LedgerEntry(nil), entries...), done: make(chan error, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed()
	}
	w.queue = append(w.queue, r)
	w.queued += len(r.entries)
	w.mu.Unlock()
	signal(w.wake)
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// journalDirect appends entries to the write-behind journal in the
// caller's goroutine and reports whether it did. A journal append is one
// write to the page cache; handing it to the committer cost two goroutine
// switches per request. On false (the Writer is closing, or the journal
// refused the append) the caller takes the committer's path, which falls
// back to the store.
func (w *Writer) journalDirect(entries []octomesh.LedgerEntry) bool {
	bp := recordBufs.Get().(*[]byte)
	buf, err := appendRecords((*bp)[:0], entries)
	defer func() {
		if cap(buf) <= 64<<10 { // a rare huge batch does not stay pinned
			*bp = buf[:0]
			recordBufs.Put(bp)
		}
	}()
	if err != nil {
		return false
	}
	// The gate keeps Close from finishing while an append is under way.
	w.gate.RLock()
	defer w.gate.RUnlock()
	if w.closing {
		return false
	}
	if err := w.spool.appendJournal(buf, entries); err != nil {
		return false
	}
	w.journaled.Add(int64(len(entries)))
	signal(w.drainKick)
	return true
}

// recordBufs holds journal encoding buffers: the journal copies the bytes
// into the page cache, so a buffer is free again once the append returns.
var recordBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// commitLoop is the committer: it commits queued requests batch by batch
// until the Writer is closed and the queue empty, or its context ends.
func (w *Writer) commitLoop() {
	defer close(w.committerDone)
	for {
		batch := w.take()
		if batch == nil {
			return
		}
		w.commit(batch)
		w.busy, w.lastEnd = len(batch) > 1, time.Now()
	}
}

// take waits for queued requests and takes them, up to MaxBatch entries
// (at least one request). It returns nil when the committer should stop.
func (w *Writer) take() []*request {
	for {
		if w.ctx.Err() != nil {
			return nil
		}
		w.mu.Lock()
		if len(w.queue) > 0 && w.busy && w.queued < w.o.MaxBatch && !w.closed {
			w.busy = false
			if d := time.Until(w.lastEnd.Add(w.o.Linger)); d > 0 {
				w.mu.Unlock()
				w.linger(d)
				continue
			}
		}
		if len(w.queue) > 0 {
			n, size := 0, 0
			for n < len(w.queue) && (n == 0 || size+len(w.queue[n].entries) <= w.o.MaxBatch) {
				size += len(w.queue[n].entries)
				n++
			}
			batch := append([]*request(nil), w.queue[:n]...)
			w.queued -= size
			rest := copy(w.queue, w.queue[n:])
			clear(w.queue[rest:]) // let the taken requests go
			w.queue = w.queue[:rest]
			w.mu.Unlock()
			return batch
		}
		closed := w.closed
		w.mu.Unlock()
		if closed {
			return nil
		}
		select {
		case <-w.wake:
		case <-w.ctx.Done():
		}
	}
}

// linger waits up to d for MaxBatch entries to queue, or for Close.
func (w *Writer) linger(d time.Duration) {
	if w.lingerTimer == nil {
		w.lingerTimer = time.NewTimer(d)
	} else {
		w.lingerTimer.Reset(d) // Go 1.23+: no stale tick to drain
	}
	defer w.lingerTimer.Stop()
	for {
		select {
		case <-w.lingerTimer.C:
			return
		case <-w.ctx.Done():
			return
		case <-w.wake:
			w.mu.Lock()
			full := w.queued >= w.o.MaxBatch || w.closed
			w.mu.Unlock()
			if full {
				return
			}
		}
	}
}

func release(batch []*request, err error) {
	for _, r := range batch {
		r.done <- err
	}
}

func flatten(batch []*request) []octomesh.LedgerEntry {
	if len(batch) == 1 {
		return batch[0].entries
	}
	var all []octomesh.LedgerEntry
	for _, r := range batch {
		all = append(all, r.entries...)
	}
	return all
}

// commit makes one batch durable and releases its callers.
func (w *Writer) commit(batch []*request) {
	entries := flatten(batch)
	if w.o.WriteBehind > 0 {
		buf, err := encodeRecords(entries)
		if err == nil {
			err = w.spool.appendJournal(buf, entries)
		}
		if err == nil {
			w.journaled.Add(int64(len(entries)))
			release(batch, nil)
			signal(w.drainKick)
			return
		}
		// The journal is full (the store has been failing) or unwritable:
		// the store itself may still take the batch.
		w.log.Warn("ledger: the journal refused a batch; committing it directly", slog.String("error", err.Error()))
	}
	if w.spool != nil && w.spool.isDegraded() {
		// The store failed and no replay has succeeded since: the batch
		// goes straight to the spool (unless a replay healed it meanwhile).
		if wrote, err := w.spoolEntries(entries, true); wrote {
			w.spooledBatch(batch, entries, err)
			return
		}
	}
	err := w.appendStore(entries)
	if err == nil {
		w.batches.Add(1)
		w.entries.Add(int64(len(entries)))
		release(batch, nil)
		return
	}
	if octomesh.ErrorCodeOf(err) == octomesh.EINVALID {
		// Write validated every entry, so the store refuses something
		// Validate does not check. Isolate the culprit: retrying it or
		// spooling it would fail forever.
		if len(batch) == 1 {
			release(batch, err)
			return
		}
		for _, r := range batch {
			w.commit([]*request{r})
		}
		return
	}
	if w.spool == nil {
		release(batch, octomesh.Errorf(octomesh.EUNAVAILABLE, "usage cannot be recorded: the database is unavailable").WithCause(err))
		return
	}
	w.log.Warn("ledger: the database failed; spooling usage locally", slog.String("error", err.Error()))
	_, serr := w.spoolEntries(entries, false)
	w.spooledBatch(batch, entries, serr)
}

// spoolEntries encodes entries and appends them to the spool (see
// spool.append). Encoding waits until a batch is spooled: the healthy
// path never pays for it.
func (w *Writer) spoolEntries(entries []octomesh.LedgerEntry, onlyIfDegraded bool) (bool, error) {
	buf, err := encodeRecords(entries)
	if err != nil {
		return true, err
	}
	return w.spool.append(buf, onlyIfDegraded)
}

// spooledBatch releases the callers of a batch the spool took (or refused).
func (w *Writer) spooledBatch(batch []*request, entries []octomesh.LedgerEntry, err error) {
	if err != nil {
		w.log.Error("ledger: usage refused: the database and the spool are unavailable", slog.String("error", err.Error()))
	} else {
		w.spooled.Add(int64(len(entries)))
	}
	signal(w.drainKick)
	release(batch, err)
}

// appendStore commits entries, bounded by CommitTimeout.
func (w *Writer) appendStore(entries []octomesh.LedgerEntry) error {
	ctx, cancel := context.WithTimeout(w.ctx, w.o.CommitTimeout)
	defer cancel()
	_, err := w.store.AppendEntries(ctx, entries)
	if err != nil && octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		w.storeErrors.Add(1)
	}
	return err
}

// Stats returns the Writer's counters.
func (w *Writer) Stats() Stats {
	s := Stats{
		Batches: w.batches.Load(), Entries: w.entries.Load(), Spooled: w.spooled.Load(), Replayed: w.replayed.Load(),
		StoreErrors: w.storeErrors.Load(), TornRecords: w.torn.Load(), Rejected: w.rejected.Load(),
		Journaled: w.journaled.Load(), Applied: w.applied.Load(),
	}
	if w.spool != nil {
		s.SpoolBytes, s.Degraded = w.spool.state()
	}
	return s
}

// Close stops accepting writes, commits (or spools) what is queued, tries
// to replay the spool into the store once more, and stops the Writer's
// goroutines. Whatever stays spooled is replayed by the next Writer on the
// same directory. If ctx ends first, store calls are abandoned, the
// callers still queued get EUNAVAILABLE, and Close returns ctx's error.
// Close is idempotent.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.drainDone
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	w.gate.Lock()
	w.closing = true
	w.gate.Unlock()
	signal(w.wake)

	select {
	case <-w.committerDone:
	case <-ctx.Done():
		w.cancel()
		<-w.committerDone
	}
	close(w.stopDrain)
	select {
	case <-w.drainDone:
	case <-ctx.Done():
		w.cancel()
		<-w.drainDone
	}
	w.failQueued()
	if w.spool != nil {
		if ctx.Err() == nil && w.spool.pending() {
			if err := w.Sync(ctx); err != nil {
				w.log.Warn("ledger: usage stays spooled for the next start", slog.String("error", err.Error()))
			}
		}
		w.spool.close()
	}
	w.cancel()
	return ctx.Err()
}

// failQueued answers callers the committer will not serve.
func (w *Writer) failQueued() {
	w.mu.Lock()
	q := w.queue
	w.queue, w.queued = nil, 0
	w.mu.Unlock()
	release(q, errClosed())
}
