//go:build linux

package ledger

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapSegment preallocates size bytes of f (empty, opened read-write) and
// maps them shared, for appends that are stores rather than write calls.
// A store to a shared file mapping lands in the page cache, as write(2)
// does, so it survives the process being killed (not the machine
// crashing: the journal's promise). The blocks are allocated first so
// that a full disk fails here, not as a SIGBUS on a later store. On an
// error f is left empty, for the write path.
func mapSegment(f *os.File, size int) ([]byte, error) {
	fd := int(f.Fd())
	if err := unix.Fallocate(fd, 0, 0, int64(size)); err != nil {
		unix.Ftruncate(fd, 0) // a partial allocation may have grown it
		return nil, err
	}
	b, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Ftruncate(fd, 0)
		return nil, err
	}
	// The first store to each page faults it in: without this, the
	// fault reads ahead, allocating and zeroing a window of pages (the
	// preallocation reads as zeros) that the appends may never reach and
	// rotate then truncates away. It is advice: failing it costs speed only.
	unix.Madvise(b, unix.MADV_RANDOM)
	return b, nil
}

// unmapSegment ends a mapping from mapSegment. Its stores stay in the page
// cache, to be written back like any write.
func unmapSegment(b []byte) error {
	return unix.Munmap(b)
}

// prefaultSegment makes b (part of a mapping from mapSegment) writable in
// one call, so that the appends that fill it take no page fault each: a
// fault per page costs more than the write(2)s it replaces on a
// virtualised host (tens of microseconds there). It is advice: on an
// error (a kernel before 5.14) the appends fault the pages in themselves.
func prefaultSegment(b []byte) {
	unix.Madvise(b, unix.MADV_POPULATE_WRITE)
}
