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
	return b, nil
}

// unmapSegment ends a mapping from mapSegment. Its stores stay in the page
// cache, to be written back like any write.
func unmapSegment(b []byte) error {
	return unix.Munmap(b)
}
