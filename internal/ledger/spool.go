package ledger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/octomesh/octomesh"
)

// The spool is a directory of segment files, ledger-<n>.spool, n increasing.
// One segment at a time is active (appended to); the drain rotates it out
// and replays closed segments oldest first, removing each once it is in
// the store.
//
// A segment is JSON lines, one record per entry:
//
//	{"v":1,"crc":"<CRC-32C of the entry's bytes, 8 hex digits>","entry":{…octomesh.LedgerEntry…}}
//
// Each append of a batch is one write and one fsync: a crash mid-write
// leaves at most a torn last line, whose checksum (or missing newline)
// gives it away. Its batch was never acknowledged, so it is skipped.
//
// A journal segment (write-behind) is, on Linux, preallocated and mapped
// (see mapSegment): an append is a copy into the mapping, no system call,
// and the file keeps its preallocated size, NUL bytes past the records,
// until it is rotated out and truncated to its records. A crash leaves
// that NUL tail (and a crash mid-copy a partial record before it), so the
// reader treats NUL as a separator: runs of it are skipped, and a record
// cut short by one is torn. No valid record holds a NUL byte (JSON
// escapes control characters).
const (
	segmentPrefix = "ledger-"
	segmentSuffix = ".spool"
	// rejectedFile keeps spooled records the store refused as invalid on
	// replay (possible only across versions), for an operator to inspect.
	rejectedFile  = "rejected.jsonl"
	recordVersion = 1
	// journalMapBytes is the most a journal segment maps (and
	// preallocates); a segment that fills it is rotated out. Its written
	// pages are the process's resident memory until then (file pages it
	// maps count in its RSS), so it is small: 1 MiB is about 2,200
	// requests' entries, and a rotation (about 0.5 ms here) costs a
	// quarter of a microsecond a request. 4 MiB could add up to 2 KB to
	// each of 2,000 streams' share of the peak RSS (streams2000).
	journalMapBytes = 1 << 20
	// prefaultBytes is how much of a mapping is made writable at a time,
	// ahead of the appends (see prefaultSegment): one call per some
	// hundred records instead of a page fault per eight.
	prefaultBytes = 64 << 10
)

// journalMapSize returns the journal mapping's size for a spool bounded by
// maxBytes: an eighth of the bound (at least a page), as the preallocated
// tail is disk the bound does not count, and at most journalMapBytes.
func journalMapSize(maxBytes int64) int {
	page := int64(os.Getpagesize())
	n := min(maxBytes/8, journalMapBytes) / page * page
	return int(max(n, page))
}

// segment is one spool file, or (path "") the entries a mapped journal
// segment took since the drain last took them.
type segment struct {
	id   uint64 // its identity in spool.closed
	path string
	size int64
	// journal: every record was appended by appendJournal in this run, and
	// mem holds its entries, so applying it needs no decoding.
	journal bool
	mem     []octomesh.LedgerEntry
}

// spool is the writer's on-disk buffer. It is safe for concurrent use.
type spool struct {
	dir string
	max int64

	// mapSize is the size a journal segment is mapped with (0: never;
	// appends use write(2)).
	mapSize int

	mu     sync.Mutex
	active *os.File // nil when no segment is open for appends
	cur    segment  // the active segment
	// mapped is the active journal segment's mapping, nil when it has
	// none (not a journal segment, or mapping failed): records go to
	// mapped[:cur.size]. Only rotate unmaps it, and it sets mapped to nil
	// at once, under mu; nothing else keeps a slice of it.
	mapped []byte
	// prefaulted is how much of mapped prefaultSegment made writable.
	prefaulted int
	closed     []segment
	// memFree holds the entry slices of applied journal segments, for the
	// next segments: a segment's entries otherwise cost a slice grown
	// from nothing every drain cycle, twice the entries' size in garbage.
	memFree  [][]octomesh.LedgerEntry
	bytes    int64  // total size of every segment
	seq      uint64 // the last segment number used
	lastID   uint64 // the last segment.id given
	degraded bool   // batches go straight here: the store failed and has not been replayed into yet
}

// openSpool opens (creating) dir and picks up the segments a previous run
// left, to be replayed.
func openSpool(dir string, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger spool: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ledger spool: %w", err)
	}
	s := &spool{dir: dir, max: maxBytes, mapSize: journalMapSize(maxBytes)}
	for _, de := range ents {
		n, ok := segmentNumber(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("ledger spool: %w", err)
		}
		s.lastID++
		s.closed = append(s.closed, segment{id: s.lastID, path: filepath.Join(dir, de.Name()), size: fi.Size()})
		s.bytes += fi.Size()
		s.seq = max(s.seq, n)
	}
	sort.Slice(s.closed, func(i, j int) bool { return s.closed[i].path < s.closed[j].path })
	return s, nil
}

// segmentNumber parses a segment file name.
func segmentNumber(name string) (uint64, bool) {
	if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix), 10, 64)
	return n, err == nil
}

func errSpoolFull() error {
	return octomesh.Errorf(octomesh.EUNAVAILABLE, "usage cannot be recorded: the database is unavailable and the local ledger spool is full")
}

// append writes buf (whole records) to the active segment and fsyncs it.
// With onlyIfDegraded it does nothing unless the spool is degraded and
// reports whether it wrote; otherwise it also marks the spool degraded.
func (s *spool) append(buf []byte, onlyIfDegraded bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if onlyIfDegraded && !s.degraded {
		return false, nil
	}
	s.degraded = true
	if s.bytes+int64(len(buf)) > s.max {
		return true, errSpoolFull()
	}
	if s.mapped != nil {
		// A mapped journal segment cannot take write(2)s (its file's end
		// is the mapping's): the spool's fsynced batches start a new one,
		// after it in replay order. Its own entries are applied from
		// memory as before.
		s.rotate()
	}
	if s.active == nil {
		if err := s.create(false, 0); err != nil {
			return true, octomesh.Errorf(octomesh.EUNAVAILABLE, "usage cannot be recorded: the database and the local ledger spool are unavailable").WithCause(err)
		}
	}
	s.cur.journal, s.cur.mem = false, nil // its records are now read back from the file
	_, err := s.active.Write(buf)
	if err == nil {
		err = s.active.Sync()
	}
	if err != nil {
		// Cut the partial write off (or at least stop appending after it),
		// so no acknowledged record ever follows a torn one.
		s.active.Truncate(s.cur.size)
		s.rotate()
		return true, octomesh.Errorf(octomesh.EUNAVAILABLE, "usage cannot be recorded: the database and the local ledger spool are unavailable").WithCause(err)
	}
	s.cur.size += int64(len(buf))
	s.bytes += int64(len(buf))
	return true, nil
}

// appendJournal writes buf (the records of entries) to the active segment
// without fsync: the write-behind journal (see Options.WriteBehind). The
// segment keeps entries in memory for the drain. A mapped segment takes
// buf as a copy into its mapping; one it cannot hold is rotated out first.
//
// The copy happens under s.mu, like the write it replaces: it costs tens
// of nanoseconds, and outside the lock rotate would have to wait for
// copies in flight before unmapping. Under the lock, too, a crash
// mid-copy can only tear the last record.
func (s *spool) appendJournal(buf []byte, entries []octomesh.LedgerEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+int64(len(buf)) > s.max {
		return errSpoolFull()
	}
	if s.mapped != nil && s.cur.size+int64(len(buf)) > int64(len(s.mapped)) {
		s.rotate()
	}
	if s.active == nil {
		if err := s.create(true, len(buf)); err != nil {
			return err
		}
	}
	var err error
	if s.mapped != nil {
		if end := int(s.cur.size) + len(buf); end > s.prefaulted {
			next := min(max(end, s.prefaulted+prefaultBytes), len(s.mapped))
			prefaultSegment(s.mapped[s.prefaulted:next])
			s.prefaulted = next
		}
		err = s.copyMapped(buf)
	} else {
		_, err = s.active.Write(buf)
	}
	if err != nil {
		if s.mapped == nil { // rotate cuts a mapped segment itself
			s.active.Truncate(s.cur.size)
		}
		s.rotate()
		return err
	}
	s.cur.size += int64(len(buf))
	s.bytes += int64(len(buf))
	if s.cur.journal {
		if cap(s.cur.mem) == 0 && len(s.memFree) > 0 {
			s.cur.mem = s.memFree[len(s.memFree)-1]
			s.memFree = s.memFree[:len(s.memFree)-1]
		}
		s.cur.mem = append(s.cur.mem, entries...)
	}
	return nil
}

// copyMapped copies buf into the mapping at cur.size. A fault (SIGBUS: the
// file shrank under the mapping, or a filesystem that cannot keep
// fallocate's promise) becomes an error instead of killing the process.
// s.mu is held.
func (s *spool) copyMapped(buf []byte) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			err = fmt.Errorf("ledger journal: store to the mapped segment: %v", r)
		}
	}()
	copy(s.mapped[s.cur.size:], buf)
	return nil
}

// create opens a new active segment. A spool segment's directory entry is
// made durable; a journal segment's, like its records, only survives a
// crash of the process, not of the machine. A journal segment is mapped
// (see mapSegment) when need bytes fit its mapping and mapping works;
// otherwise it is appended to with write(2).
func (s *spool) create(journal bool, need int) error {
	for {
		s.seq++
		path := filepath.Join(s.dir, fmt.Sprintf("%s%020d%s", segmentPrefix, s.seq, segmentSuffix))
		flag := os.O_WRONLY
		if journal {
			flag = os.O_RDWR // a shared writable mapping needs read access
		}
		f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if journal && need <= s.mapSize {
			s.mapped, _ = mapSegment(f, s.mapSize) // on an error, the write path
			s.prefaulted = 0
		}
		if !journal {
			if err := syncDir(s.dir); err != nil {
				f.Close()
				os.Remove(path)
				return err
			}
		}
		s.active, s.cur = f, segment{path: path, journal: journal}
		if journal && len(s.memFree) > 0 {
			s.cur.mem = s.memFree[len(s.memFree)-1]
			s.memFree = s.memFree[:len(s.memFree)-1]
		}
		return nil
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// rotate closes the active segment, making it one to replay. A mapped
// segment is unmapped and cut to its records. s.mu is held.
func (s *spool) rotate() {
	if s.active == nil {
		return
	}
	if s.mapped != nil {
		unmapSegment(s.mapped)
		s.mapped = nil
		// Past cur.size the file holds the preallocation's NULs (and,
		// after a failed copy, a partial record): a failed truncate
		// leaves them for the reader to skip, and counted below.
		s.active.Truncate(s.cur.size)
	}
	s.active.Close()
	s.active = nil
	if fi, err := os.Stat(s.cur.path); err == nil {
		s.bytes += fi.Size() - s.cur.size // a failed truncate leaves more than was counted
		s.cur.size = fi.Size()
	}
	if s.cur.size == 0 {
		os.Remove(s.cur.path)
		return
	}
	s.lastID++
	s.cur.id = s.lastID
	s.closed = append(s.closed, s.cur)
}

// next rotates the active segment out and returns the segments to replay,
// oldest first. When there are none it leaves degraded mode, atomically
// with finding none, so no batch can be spooled unseen; then it returns nil.
//
// A mapped journal segment is not rotated: its entries so far become a
// segment of their own (no file), and the file goes on taking appends
// until its mapping is full. Rotating it every drain cycle cost more than
// the write(2)s the mapping saves (unmapping interrupts every CPU the
// process ran on, to flush its TLB; then truncate, create, fallocate,
// map). The file is removed once its last entries are applied, after the
// earlier ones (replay goes oldest first and stops at a failure); a crash
// before that replays entries already applied, which the ledger's
// idempotent identity makes harmless, as for a crash between applying a
// segment and removing it.
func (s *spool) next() []segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mapped != nil && s.cur.journal {
		if len(s.cur.mem) > 0 {
			s.lastID++
			s.closed = append(s.closed, segment{id: s.lastID, journal: true, mem: s.cur.mem})
			s.cur.mem = nil
		}
	} else {
		s.rotate()
	}
	if len(s.closed) == 0 {
		s.degraded = false
		return nil
	}
	return append([]segment(nil), s.closed...)
}

// isDegraded reports whether batches go straight to the spool.
func (s *spool) isDegraded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.degraded
}

// markDegraded records that the store is failing (journal mode, where
// batches do not go through append).
func (s *spool) markDegraded() {
	s.mu.Lock()
	s.degraded = true
	s.mu.Unlock()
}

// heal leaves degraded mode: the store took a replayed batch, so new
// batches go to it again while the drain replays the rest.
func (s *spool) heal() {
	s.mu.Lock()
	s.degraded = false
	s.mu.Unlock()
}

// remove deletes a replayed segment.
func (s *spool) remove(seg segment) error {
	if seg.path != "" {
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("ledger spool: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.closed {
		if c.id == seg.id {
			s.closed = append(s.closed[:i], s.closed[i+1:]...)
			s.bytes -= c.size
			s.recycle(c.mem)
			break
		}
	}
	return nil
}

// maxFreeMem bounds a recycled entry slice (entries): one that grew past
// it, in a burst or while the store was down, is left to the collector.
const maxFreeMem = 4096

// recycle keeps an applied segment's entry slice for a later segment. The
// segment is gone from closed, and the drain, its only other user, is
// done with it. s.mu is held.
func (s *spool) recycle(mem []octomesh.LedgerEntry) {
	if cap(mem) == 0 || cap(mem) > maxFreeMem || len(s.memFree) >= 2 {
		return
	}
	clear(mem) // no entry's strings stay reachable
	s.memFree = append(s.memFree, mem[:0])
}

// pending reports whether anything waits to be replayed (or batches are
// still being spooled).
func (s *spool) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mapped != nil && s.cur.journal {
		// Its file's records may all be applied: its entries tell.
		return s.degraded || len(s.closed) > 0 || len(s.cur.mem) > 0
	}
	return s.degraded || len(s.closed) > 0 || (s.active != nil && s.cur.size > 0)
}

// state returns the spool's size and whether it is degraded.
func (s *spool) state() (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.degraded
}

// reject keeps records the store refused, for an operator.
func (s *spool) reject(entries []octomesh.LedgerEntry) error {
	buf, err := encodeRecords(entries)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, rejectedFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// close closes the active segment; what is on disk stays for the next run,
// but for a mapped journal segment whose entries, like every other
// segment's, are all applied.
func (s *spool) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	applied := s.mapped != nil && s.cur.journal && len(s.cur.mem) == 0 && len(s.closed) == 0
	s.rotate()
	if applied && len(s.closed) == 1 {
		if err := os.Remove(s.closed[0].path); err == nil {
			s.bytes -= s.closed[0].size
			s.closed = s.closed[:0]
		}
	}
}
