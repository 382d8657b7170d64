//go:build unix && race

package h1

import "syscall"

// rawRead is syscall.Read under the race detector, which models I/O as
// synchronising (a server's write happens before the client's read of it);
// a raw system call would hide that from it.
func rawRead(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }
