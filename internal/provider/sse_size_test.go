package provider

import (
	"io"
	"strings"
	"testing"
)

// bufferedSource is a body that says how much it holds, as h1's do.
type bufferedSource struct {
	io.Reader
	held int
}

func (b *bufferedSource) Buffered() int { return b.held }

// A reader takes a 16 KiB buffer when its source already holds more than a
// 4 KiB one takes (a burst, relayed then in one write), and a 4 KiB one
// otherwise; either parses the same events and goes back to its own pool.
func TestSSEReaderSizesItsBufferToTheBurst(t *testing.T) {
	var stream strings.Builder
	for i := range 60 {
		stream.WriteString("data: " + strings.Repeat("x", 100) + string(rune('a'+i%26)) + "\n\n")
	}
	for _, tc := range []struct {
		held int
		size int
	}{{0, 4 << 10}, {3 << 10, 4 << 10}, {stream.Len(), 16 << 10}} {
		src := &bufferedSource{Reader: strings.NewReader(stream.String()), held: tc.held}
		r := NewSSEReader(src, 0)
		n := 0
		for {
			ev, err := r.Next()
			if n == 0 { // the buffer is taken by the first Next
				if r.r == nil {
					t.Fatalf("with %d bytes held: no buffer after the first event", tc.held)
				}
				if got := r.r.Size(); got != tc.size {
					t.Errorf("with %d bytes held: a %d-byte buffer, want %d", tc.held, got, tc.size)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("event %d: %v", n, err)
			}
			if want := strings.Repeat("x", 100) + string(rune('a'+n%26)); string(ev.Data) != want {
				t.Fatalf("event %d = %q", n, ev.Data)
			}
			n++
		}
		if n != 60 {
			t.Errorf("with %d bytes held: %d events, want 60", tc.held, n)
		}
		r.Release()
	}
}
