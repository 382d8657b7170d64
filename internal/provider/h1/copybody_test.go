package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// copyBody reports what io.CopyN reports, for sources that end early, end
// with their last bytes, fail, or are longer than asked.
func TestCopyBodyIsCopyN(t *testing.T) {
	boom := errors.New("boom")
	long := strings.Repeat("x", 10000)
	for _, tc := range []struct {
		name string
		src  func() io.Reader
		n    int64
	}{
		{"exact", func() io.Reader { return strings.NewReader(long) }, 10000},
		{"longer", func() io.Reader { return strings.NewReader(long) }, 5000},
		{"short", func() io.Reader { return strings.NewReader(long) }, 12000},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(strings.NewReader(long)) }, 10000},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(strings.NewReader(long[:300])) }, 300},
		{"error", func() io.Reader { return io.MultiReader(strings.NewReader(long[:100]), iotest.ErrReader(boom)) }, 200},
		{"empty", func() io.Reader { return strings.NewReader("") }, 0},
	} {
		var want, got bytes.Buffer
		wn, werr := io.CopyN(&want, tc.src(), tc.n)
		bw := bufio.NewWriterSize(&got, 4<<10)
		gn, gerr := copyBody(bw, tc.src(), tc.n)
		bw.Flush()
		if gn != wn || !errors.Is(gerr, werr) && gerr != werr || got.String() != want.String() {
			t.Errorf("%s: copyBody %d, %v (%d bytes out); CopyN %d, %v (%d bytes)", tc.name, gn, gerr, got.Len(), wn, werr, want.Len())
		}
	}
}
