package provider

import (
	"errors"
	"io"
	"testing"
)

// Between events a reader holds no read buffer: a slow stream spends most
// of its life waiting for the next token, and 2,000 of them would hold
// 8 MB of empty buffers. Events that arrived together keep the buffer.
func TestSSEReaderParksItsBufferBetweenEvents(t *testing.T) {
	pr, pw := io.Pipe()
	s := NewSSEReader(pr, 0)
	defer s.Release()
	go io.WriteString(pw, "data: 1\n\ndata: 2\n\n")
	for _, want := range []string{"1", "2"} {
		ev, err := s.Next()
		if err != nil || string(ev.Data) != want {
			t.Fatalf("Next = %q, %v; want %q", ev.Data, err, want)
		}
		// The two events may come in one read or in two: with the second
		// already buffered the buffer stays, without it the reader parks.
		if buffered := s.r != nil && s.r.Buffered() > 0; buffered != (s.r != nil) {
			t.Fatalf("after event %s: parked %v with %v bytes buffered", want, s.r == nil, buffered)
		}
	}
	if s.r != nil {
		t.Fatal("the reader kept its buffer while waiting for the next event")
	}
	go func() {
		io.WriteString(pw, "event: x\ndata: 3\n\n")
		pw.Close()
	}()
	ev, err := s.Next()
	if err != nil || ev.Name != "x" || string(ev.Data) != "3" {
		t.Fatalf("after parking: %q %q, %v", ev.Name, ev.Data, err)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

// dataThenErr returns its data together with err, as a connection cut by a
// deadline or a reset can; later reads report a clean end.
type dataThenErr struct {
	data string
	err  error
	done bool
}

func (r *dataThenErr) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	r.done = true
	return copy(p, r.data), r.err
}

// An error that came with the last event's bytes is reported by the next
// Next, even though the reader parked its buffer (and the error it held)
// in between: the stream must not look as if it ended cleanly.
func TestSSEReaderKeepsAnErrorThatCameWithAnEventAcrossParking(t *testing.T) {
	boom := errors.New("connection reset")
	s := NewSSEReader(&dataThenErr{data: "data: 1\n\n", err: boom}, 0)
	defer s.Release()
	if ev, err := s.Next(); err != nil || string(ev.Data) != "1" {
		t.Fatalf("Next = %q, %v; want 1", ev.Data, err)
	}
	if _, err := s.Next(); !errors.Is(err, boom) {
		t.Fatalf("after the event: %v, want %v", err, boom)
	}
}

// waitingPipe is a body that can wait for data without a buffer, as the
// h1 transport's bodies do; it records whether the reader held its read
// buffer or its event buffers while it waited.
type waitingPipe struct {
	*io.PipeReader
	s          *SSEReader
	waits      int
	heldBuffer bool
	ready      chan struct{}
}

func (w *waitingPipe) WaitData() {
	w.waits++
	w.heldBuffer = w.heldBuffer || w.s.r != nil || w.s.buf != nil
	<-w.ready
}

// A reader whose body can wait for data waits without its read buffer
// or its event buffers, for the first event as for the next ones: it
// takes them only once the next event's bytes are there.
func TestSSEReaderWaitsWithoutItsBuffer(t *testing.T) {
	pr, pw := io.Pipe()
	src := &waitingPipe{PipeReader: pr, ready: make(chan struct{}, 1)}
	s := NewSSEReader(src, 0)
	src.s = s
	defer s.Release()
	src.ready <- struct{}{}
	go io.WriteString(pw, "data: 1\n\n")
	if ev, err := s.Next(); err != nil || string(ev.Data) != "1" {
		t.Fatalf("first event %q, %v", ev.Data, err)
	}
	go func() {
		src.ready <- struct{}{}
		io.WriteString(pw, "data: 2\n\n")
	}()
	if ev, err := s.Next(); err != nil || string(ev.Data) != "2" {
		t.Fatalf("second event %q, %v", ev.Data, err)
	}
	if src.waits != 2 || src.heldBuffer {
		t.Fatalf("waits %d, buffer held while waiting %v; want two waits with the buffers parked", src.waits, src.heldBuffer)
	}
}

// WaitData is the wait Next would start with, on its own: on a parked
// reader it waits holding no buffer, and with an event's bytes already
// held it returns at once. It does not unpark the reader, so the Next
// after it asks its source to wait again; a source with bytes there (an
// h1 body) answers that at once.
func TestSSEReaderWaitData(t *testing.T) {
	pr, pw := io.Pipe()
	src := &waitingPipe{PipeReader: pr, ready: make(chan struct{}, 2)}
	s := NewSSEReader(src, 0)
	src.s = s
	defer s.Release()
	go io.WriteString(pw, "data: 1\n\ndata: 2\n\n")
	src.ready <- struct{}{}
	s.WaitData() // parked from the start
	if src.waits != 1 || src.heldBuffer {
		t.Fatalf("first WaitData: %d waits, buffer held %v; want one wait holding none", src.waits, src.heldBuffer)
	}
	src.ready <- struct{}{} // Next's own wait, which the source answers at once
	if ev, err := s.Next(); err != nil || string(ev.Data) != "1" {
		t.Fatalf("first event %q, %v", ev.Data, err)
	}
	// The second event came with the first (one write, one read): there
	// is nothing to wait for.
	if s.Buffered() == 0 {
		t.Fatal("the second event is not held")
	}
	s.WaitData()
	if src.waits != 2 {
		t.Fatalf("WaitData with an event held: %d waits, want none more", src.waits-2)
	}
	if ev, err := s.Next(); err != nil || string(ev.Data) != "2" {
		t.Fatalf("second event %q, %v", ev.Data, err)
	}
}
