//go:build !linux

package ledger

import (
	"errors"
	"os"
)

// mapSegment is Linux-only (it needs fallocate, so that a full disk
// cannot turn a store into SIGBUS): elsewhere the journal appends with
// write(2).
func mapSegment(f *os.File, size int) ([]byte, error) {
	return nil, errors.ErrUnsupported
}

func unmapSegment(b []byte) error { return nil }

func prefaultSegment(b []byte) {}
