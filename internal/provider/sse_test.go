package provider

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSSEReader(t *testing.T) {
	in := ": keep-alive\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: line1\r\ndata: line2\r\n\r\nid: 5\nretry: 10\ndata:nospace\n\n"
	r := NewSSEReader(strings.NewReader(in), 0)
	want := []Event{{Name: "message_start", Data: []byte(`{"a":1}`)}, {Data: []byte("line1\nline2")}, {Data: []byte("nospace")}}
	for i, w := range want {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Name != w.Name || string(ev.Data) != string(w.Data) {
			t.Errorf("event %d = {%q %q}, want {%q %q}", i, ev.Name, ev.Data, w.Name, w.Data)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("end: %v, want io.EOF", err)
	}
}

func TestSSEReaderTruncated(t *testing.T) {
	for _, in := range []string{"data: {\"a\":1}\n", "data: {\"a\":1}", "data: x\n\ndata: partial"} {
		r := NewSSEReader(strings.NewReader(in), 0)
		var err error
		for err == nil {
			_, err = r.Next()
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: err = %v, want io.ErrUnexpectedEOF", in, err)
		}
	}
}

func TestSSEReaderLimit(t *testing.T) {
	r := NewSSEReader(strings.NewReader("data: "+strings.Repeat("x", 100_000)+"\n\n"), 1000)
	if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("err = %v, want ErrEventTooLarge", err)
	}
}

func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("event: a\ndata: b\n\n"))
	f.Add([]byte("data: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewSSEReader(strings.NewReader(string(b)), 4096)
		for i := 0; i < 10_000; i++ {
			ev, err := r.Next()
			if err != nil {
				return
			}
			if len(ev.Data) > 4096 {
				t.Fatalf("event larger than the limit: %d", len(ev.Data))
			}
		}
		t.Fatal("reader did not terminate")
	})
}

func TestSSEReaderBufferedCountsWholeEventsOnly(t *testing.T) {
	r := NewSSEReader(strings.NewReader("data: a\n\ndata: b\n\ndata: par"), 0)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() == 0 {
		t.Error("a whole event is buffered, but Buffered() = 0")
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if got := r.Buffered(); got != 0 {
		t.Errorf("only part of an event is buffered, but Buffered() = %d", got)
	}
}

// TestSSEReaderEventNames: names are reused while they repeat (no
// allocation per event), and never carried over to an event without one.
func TestSSEReaderEventNames(t *testing.T) {
	in := "event: delta\ndata: 1\n\nevent: delta\ndata: 2\n\nevent: stop\ndata: 3\n\ndata: 4\n\nevent: delta\ndata: 5\n\n"
	r := NewSSEReader(strings.NewReader(in), 0)
	for i, want := range []string{"delta", "delta", "stop", "", "delta"} {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Name != want {
			t.Errorf("event %d name %q, want %q", i, ev.Name, want)
		}
	}
	repeat := strings.Repeat("event: content_block_delta\ndata: x\n\n", 200)
	sr := strings.NewReader(repeat)
	r = NewSSEReader(sr, 0)
	r.Next()
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("a repeated event name allocates %v times per event", allocs)
	}
}

func TestSSEReaderRelease(t *testing.T) {
	r := NewSSEReader(strings.NewReader("data: one\n\ndata: two\n\n"), 0)
	if ev, err := r.Next(); err != nil || string(ev.Data) != "one" {
		t.Fatalf("Next = %q, %v", ev.Data, err)
	}
	r.Release()
	r.Release() // a second call does nothing
	if _, err := r.Next(); err == nil {
		t.Error("Next after Release succeeded")
	}
	if n := r.Buffered(); n != 0 {
		t.Errorf("Buffered after Release = %d", n)
	}
	// The released buffers serve the next reader from a clean state.
	r2 := NewSSEReader(strings.NewReader("event: x\ndata: three\n\n"), 0)
	defer r2.Release()
	if ev, err := r2.Next(); err != nil || ev.Name != "x" || string(ev.Data) != "three" {
		t.Errorf("reader after a release: {%q %q}, %v", ev.Name, ev.Data, err)
	}
	if _, err := r2.Next(); err != io.EOF {
		t.Errorf("end: %v, want io.EOF", err)
	}
}
