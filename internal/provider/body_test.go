package provider

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/octomesh/octomesh"
)

func response(body io.Reader, length int64) *http.Response {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(body), ContentLength: length}
}

func TestReadAll(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 3000) // 30,000 bytes
	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		limit   int
		want    int
		wantCap int // 0: not checked
	}{
		{"known length: one exact buffer", bytes.NewReader(data), 30000, 1 << 20, 30000, 30001},
		{"unknown length", bytes.NewReader(data), -1, 1 << 20, 30000, 0},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), -1, 1 << 20, 30000, 0},
		{"length understated", bytes.NewReader(data), 10, 1 << 20, 30000, 0},
		{"length overstated", bytes.NewReader(data[:5]), 100, 1 << 20, 5, 101},
		{"huge claimed length is not trusted", bytes.NewReader(data[:5]), 30 << 20, 32 << 20, 5, 512},
		{"limit", bytes.NewReader(data), -1, 1001, 1001, 0},
		{"limit with known length", bytes.NewReader(data), 30000, 1001, 1001, 0},
		{"empty", strings.NewReader(""), 0, 1 << 20, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.r, nil, tt.size, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[:tt.want]) {
				t.Errorf("read %d bytes, want the first %d", len(got), tt.want)
			}
			if tt.wantCap != 0 && cap(got) != tt.wantCap {
				t.Errorf("cap = %d, want %d", cap(got), tt.wantCap)
			}
		})
	}
	t.Run("appends to buf", func(t *testing.T) {
		got, err := readAll(strings.NewReader("world"), append(make([]byte, 0, 8), "hello "...), 5, 100)
		if err != nil || string(got) != "hello world" {
			t.Errorf("got %q, %v", got, err)
		}
	})
	t.Run("error", func(t *testing.T) {
		boom := errors.New("boom")
		if _, err := readAll(iotest.ErrReader(boom), nil, -1, 100); err != boom {
			t.Errorf("err = %v, want boom", err)
		}
	})
}

func TestReadBodyPooled(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 3*initialBody)
	b, err := ReadBodyPooled(ctx, "p", response(bytes.NewReader(data), -1))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), data) {
		t.Errorf("read %d bytes, want %d", len(b.Bytes()), len(data))
	}
	b.Release()

	// A body bigger than the pool keeps is read, but its buffer not kept.
	big := bytes.Repeat([]byte("y"), maxPooledBody+1)
	b, err = ReadBodyPooled(ctx, "p", response(bytes.NewReader(big), int64(len(big))))
	if err != nil || len(b.Bytes()) != len(big) {
		t.Fatalf("big body: %d bytes, %v", len(b.Bytes()), err)
	}
	b.Release()
	if got := bodyPool.Get().(*Body); cap(got.b) > maxPooledBody {
		t.Errorf("a %d-byte buffer went back to the pool", cap(got.b))
	}

	// Too large for any answer.
	_, err = ReadBodyPooled(ctx, "p", response(io.LimitReader(zeros{}, MaxResponseBody+10), -1))
	if octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM {
		t.Errorf("oversized body: err = %v, want EUPSTREAM", err)
	}
	_, err = ReadBodyPooled(ctx, "p", response(iotest.ErrReader(errors.New("reset")), -1))
	if octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM {
		t.Errorf("read error: err = %v, want EUPSTREAM", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReadBodyPooledAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	ctx := context.Background()
	data := bytes.Repeat([]byte("z"), 4000)
	r := bytes.NewReader(data)
	resp := response(r, int64(len(data)))
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(data)
		b, err := ReadBodyPooled(ctx, "p", resp)
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
	})
	if allocs > 0 {
		t.Errorf("ReadBodyPooled allocates %v times, want 0", allocs)
	}
}
