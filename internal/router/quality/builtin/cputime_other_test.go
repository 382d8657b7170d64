//go:build !linux

package builtin

// threadCPU is not available on this platform.
func threadCPU() (int64, bool) { return 0, false }
