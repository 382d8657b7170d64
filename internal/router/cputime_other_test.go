//go:build !unix

package router

import "time"

// processCPU is unavailable on this platform.
func processCPU() time.Duration { return 0 }
