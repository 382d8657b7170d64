//go:build !unix

package limit_test

import "time"

func cpuTime() time.Duration { return 0 }
