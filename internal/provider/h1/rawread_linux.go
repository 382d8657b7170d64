//go:build linux && !race

package h1

import (
	"syscall"
	"unsafe"
)

// rawRead reads from the non-blocking fd without the scheduler's system
// call entry and exit, which syscall.Read goes through: the read cannot
// block, and a goroutine that lost its P there would wait for another
// while holding the stash it was lent. Linux only: its system call
// interface is stable, and there syscall.RawSyscall is one (on OpenBSD it
// fails every call with ENOSYS; solaris and aix have no SYS_READ).
func rawRead(fd uintptr, p []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
