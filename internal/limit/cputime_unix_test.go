//go:build unix

package limit_test

import (
	"syscall"
	"time"
)

// cpuTime is the process's CPU time so far. Benchmarks report it per op:
// on a machine shared with other work, wall time per op measures the
// neighbours as much as the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
