package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/octomesh/octomesh"
)

func TestReadAllSizing(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 3000)
	tests := []struct {
		name   string
		r      io.Reader
		size   int64
		want   int
		maxCap int // 0: not checked
	}{
		{"known length", bytes.NewReader(data), 30000, 30000, 32 << 10},
		{"unknown length", bytes.NewReader(data), -1, 30000, 0},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), -1, 30000, 0},
		{"length understated", bytes.NewReader(data), 10, 30000, 0},
		{"claimed length past the presize bound is not reserved", bytes.NewReader(data[:5]), maxPresize + 1, 5, 512},
		{"empty", strings.NewReader(""), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.r, nil, tt.size, 1<<40)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[:tt.want]) {
				t.Errorf("read %d bytes, want the first %d", len(got), tt.want)
			}
			if tt.maxCap != 0 && cap(got) > tt.maxCap {
				t.Errorf("cap = %d, want at most %d", cap(got), tt.maxCap)
			}
		})
	}
	r := bytes.NewReader(data)
	if allocs := testing.AllocsPerRun(20, func() {
		r.Reset(data)
		readAll(r, nil, int64(len(data)), 1<<40)
	}); allocs != 1 && !raceEnabled {
		t.Errorf("a body of known length takes %v allocations, want 1", allocs)
	}
	boom := errors.New("boom")
	if _, err := readAll(iotest.ErrReader(boom), nil, -1, 1<<40); err != boom {
		t.Errorf("err = %v, want boom", err)
	}
}

func TestReadBodyLimits(t *testing.T) {
	s := &Server{maxBody: 100}
	read := func(body string, chunked bool) ([]byte, error) {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		if chunked {
			r.ContentLength = -1
		}
		return s.readBody(httptest.NewRecorder(), r)
	}
	for _, chunked := range []bool{false, true} {
		if b, err := read(`{"a":1}`, chunked); err != nil || string(b) != `{"a":1}` {
			t.Errorf("chunked=%v: got %q, %v", chunked, b, err)
		}
		if _, err := read(strings.Repeat("x", 101), chunked); octomesh.ErrorCodeOf(err) != octomesh.ETOOLARGE {
			t.Errorf("chunked=%v: 101 bytes: err = %v, want ETOOLARGE", chunked, err)
		}
		if b, err := read(strings.Repeat("x", 100), chunked); err != nil || len(b) != 100 {
			t.Errorf("chunked=%v: 100 bytes: %d, %v", chunked, len(b), err)
		}
	}
	// A length that understates the body does not lift the limit, and the
	// reading stops one byte past it.
	src := strings.NewReader(strings.Repeat("x", 1000))
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", src)
	r.ContentLength = 10
	if _, err := s.readBody(httptest.NewRecorder(), r); octomesh.ErrorCodeOf(err) != octomesh.ETOOLARGE {
		t.Errorf("understated length: err = %v, want ETOOLARGE", err)
	}
	if read := 1000 - src.Len(); read != 101 {
		t.Errorf("read %d bytes of a body over the limit of 100, want 101", read)
	}
}

func TestReadBodyPooled(t *testing.T) {
	s := &Server{maxBody: 1 << 20}
	req := func(body []byte) *http.Request {
		return httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
	}
	body := []byte(benchChatBody)
	pb, err := s.readBodyPooled(httptest.NewRecorder(), req(body))
	if err != nil || !bytes.Equal(pb.Bytes(), body) {
		t.Fatalf("got %q, %v", pb.Bytes(), err)
	}
	var got octomesh.ChatRequest
	if err := decodeStrict(pb.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	pb.Release()
	// The decoded request owns its strings: reusing the buffer leaves it intact.
	pb2, err := s.readBodyPooled(httptest.NewRecorder(), req(bytes.Repeat([]byte("z"), len(body))))
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "openai/gpt-4o-mini" || got.Messages[1].Content.Text() != "Explain in two sentences why a reverse proxy adds latency, and how connection reuse reduces it." {
		t.Errorf("decoded request changed when the buffer was reused: %+v", got)
	}
	pb2.Release()

	// A body past the pool's bound is served, but its buffer is not kept.
	big := bytes.Repeat([]byte("y"), maxPooledBody+1)
	pb, err = s.readBodyPooled(httptest.NewRecorder(), req(big))
	if err != nil || len(pb.Bytes()) != len(big) {
		t.Fatalf("big body: %d bytes, %v", len(pb.Bytes()), err)
	}
	pb.Release()
	if b := bodyPool.Get().(*pooledBody); cap(b.b) > maxPooledBody {
		t.Errorf("a %d-byte buffer went back to the pool", cap(b.b))
	}

	// Errors hand nothing out.
	small := &Server{maxBody: 10}
	if pb, err := small.readBodyPooled(httptest.NewRecorder(), req(big)); pb != nil || octomesh.ErrorCodeOf(err) != octomesh.ETOOLARGE {
		t.Errorf("too large: %v, %v", pb, err)
	}

	if raceEnabled {
		return // the race detector makes sync.Pool drop buffers at random
	}
	r := bytes.NewReader(body)
	rc := io.NopCloser(r)
	hr := req(body)
	rec := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(body)
		hr.Body = rc
		pb, err := s.readBodyPooled(rec, hr)
		if err != nil {
			t.Fatal(err)
		}
		pb.Release()
	})
	// A body of known length needs no http.MaxBytesReader: none is left.
	if allocs > 0 {
		t.Errorf("readBodyPooled allocates %v times, want none", allocs)
	}
}

// BenchmarkReadBody measures reading a typical request body (what every
// request pays before decoding); BenchmarkReadBodyPooled the pooled variant.
func BenchmarkReadBody(b *testing.B) {
	benchReadBody(b, func(s *Server, w http.ResponseWriter, r *http.Request) {
		if _, err := s.readBody(w, r); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkReadBodyPooled(b *testing.B) {
	benchReadBody(b, func(s *Server, w http.ResponseWriter, r *http.Request) {
		pb, err := s.readBodyPooled(w, r)
		if err != nil {
			b.Fatal(err)
		}
		pb.Release()
	})
}

// benchBody is a request with a long conversation (8 KB), where reading
// the body costs more than a few bytes.
var benchBody = []byte(`{"model":"openai/gpt-4o-mini","messages":[` + strings.Repeat(`{"role":"user","content":"`+strings.Repeat("lorem ipsum ", 60)+`"},`, 11) +
	`{"role":"user","content":"and?"}]}`)

func benchReadBody(b *testing.B, read func(*Server, http.ResponseWriter, *http.Request)) {
	s := &Server{maxBody: 10 << 20}
	rd := bytes.NewReader(benchBody)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", rd)
	w := httptest.NewRecorder()
	b.SetBytes(int64(len(benchBody)))
	rc := io.NopCloser(rd)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(benchBody)
		r.Body = rc
		read(s, w, r)
	}
}
