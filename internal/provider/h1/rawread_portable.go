//go:build unix && (race || !linux)

package h1

import "syscall"

// rawRead is syscall.Read under the race detector, which models I/O as
// synchronising (a server's write happens before the client's read of it;
// a raw system call would hide that from it), and on the other unixes,
// where a raw system call is not sound (rawread_linux.go).
func rawRead(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }
