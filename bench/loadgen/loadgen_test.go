package loadgen

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHistogramPercentilesOnKnownData(t *testing.T) {
	h := NewHistogram()
	// 1..10000 µs, shuffled: the p-th percentile is p·100 µs.
	vals := make([]int, 10000)
	for i := range vals {
		vals[i] = i + 1
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{50, 5000 * time.Microsecond},
		{90, 9000 * time.Microsecond},
		{99, 9900 * time.Microsecond},
		{99.9, 9990 * time.Microsecond},
		{100, 10000 * time.Microsecond},
		{0, time.Microsecond},
	}
	for _, tt := range tests {
		got := h.Percentile(tt.p)
		// The histogram reports the top of the value's bucket: never below
		// the true value, and at most 1/128 above it.
		if got < tt.want || float64(got) > float64(tt.want)*(1+1.0/128) {
			t.Errorf("p%v = %v, want %v (+0.8%%)", tt.p, got, tt.want)
		}
	}
	if got, want := h.Count(), uint64(10000); got != want {
		t.Errorf("Count = %d, want %d", got, want)
	}
	if got, want := h.Max(), 10*time.Millisecond; got != want {
		t.Errorf("Max = %v, want %v", got, want)
	}
	if got, want := h.Min(), time.Microsecond; got != want {
		t.Errorf("Min = %v, want %v", got, want)
	}
	if got, want := h.Mean(), 5000500*time.Nanosecond; got != want {
		t.Errorf("Mean = %v, want %v", got, want)
	}
}

func TestHistogramSmallValuesExact(t *testing.T) {
	h := NewHistogram()
	for _, v := range []time.Duration{3, 3, 7, 100, 255} {
		h.Record(v)
	}
	for p, want := range map[float64]time.Duration{20: 3, 40: 3, 60: 7, 80: 100, 100: 255} {
		if got := h.Percentile(p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
}

func TestHistogramBucketsCoverRange(t *testing.T) {
	// Every value falls in a bucket whose bounds contain it, and buckets are
	// contiguous and ordered.
	for _, v := range []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 123456789, 1 << 40, 1<<63 - 1} {
		i := bucket(v)
		lo, hi := bounds(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if i >= nBuckets {
			t.Errorf("value %d: bucket %d out of range %d", v, i, nBuckets)
		}
		if hi > 1<<subBits && float64(hi-lo) > float64(lo)/float64(subHalf) {
			t.Errorf("bucket %d = [%d, %d] wider than 1/%d of its values", i, lo, hi, subHalf)
		}
	}
	for i := 1; i < bucket(1<<50); i++ {
		_, prevHi := bounds(i - 1)
		lo, _ := bounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
	}
}

func TestHistogramMerge(t *testing.T) {
	a, b := NewHistogram(), NewHistogram()
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	b.Record(2 * time.Millisecond)
	a.Merge(b)
	a.Merge(NewHistogram())
	if a.Count() != 3 || a.Min() != time.Millisecond || a.Max() != 3*time.Millisecond {
		t.Errorf("merged: count %d min %v max %v", a.Count(), a.Min(), a.Max())
	}
	if got := NewHistogram().Percentile(99); got != 0 {
		t.Errorf("empty p99 = %v, want 0", got)
	}
}

// countingServer answers every request with body and counts what it got.
type countingServer struct {
	srv      *httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	bodies   map[string]int
	headers  map[string]int
}

func newCountingServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *countingServer {
	t.Helper()
	cs := &countingServer{bodies: map[string]int{}, headers: map[string]int{}}
	cs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cs.requests.Add(1)
		cs.mu.Lock()
		cs.bodies[string(b)]++
		cs.headers[r.Header.Get("Authorization")]++
		cs.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(cs.srv.Close)
	return cs
}

func (cs *countingServer) addr() string { return strings.TrimPrefix(cs.srv.URL, "http://") }

func TestClosedLoopCountsExactly(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		expect  string
	}{
		{"content-length", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) }, `{"ok":true}`},
		{"chunked with trailer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Cost")
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
			}
			io.WriteString(w, "data: [DONE]\n\n")
			w.Header().Set("X-Cost", "0.01")
		}, "data: [DONE]\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := newCountingServer(t, tt.handler)
			// No warm-up: every request the server saw finished inside the
			// window or after it (the last one of each connection).
			res, err := Run(context.Background(), Options{
				Addr: cs.addr(), Connections: 4, Duration: 300 * time.Millisecond,
				Request: Request{Path: "/v1/x", Header: [][2]string{{"Authorization", "Bearer k"}}, Body: []byte(`{"a":1}`), Expect: []byte(tt.expect)},
			})
			if err != nil {
				t.Fatal(err)
			}
			served := uint64(cs.requests.Load())
			if res.Errors != 0 {
				t.Fatalf("errors: %v", res.Kinds())
			}
			if res.Requests == 0 || res.Requests > served || served-res.Requests > 4 {
				t.Errorf("measured %d requests, server saw %d: want equal up to one in flight per connection", res.Requests, served)
			}
			if got := res.Latency.Count(); got != res.Requests {
				t.Errorf("latency count %d, want %d", got, res.Requests)
			}
			if got := res.FirstByte.Count(); got != res.Requests {
				t.Errorf("first-byte count %d, want %d", got, res.Requests)
			}
			cs.mu.Lock()
			defer cs.mu.Unlock()
			if cs.bodies[`{"a":1}`] != int(served) || cs.headers["Bearer k"] != int(served) {
				t.Errorf("server saw bodies %v and auth headers %v, want all %d exact", cs.bodies, cs.headers, served)
			}
			if res.Throughput <= 0 {
				t.Errorf("throughput %v", res.Throughput)
			}
		})
	}
}

func TestOpenLoopRate(t *testing.T) {
	cs := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	res, err := Run(context.Background(), Options{
		Addr: cs.addr(), Connections: 8, Rate: 200, Duration: 500 * time.Millisecond,
		Request: Request{Path: "/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 0.5s = 100 arrivals, and every one is accounted for:
	// sent (the server sees it) or dropped (no free connection). On a
	// loaded machine the scheduler can wake late and send a burst that
	// finds all 8 connections busy, so some drops are allowed; before,
	// the arrivals it woke for after the window were neither sent nor
	// dropped (the server saw 96, none dropped). A request is measured
	// only when it finishes inside the window: the last few can finish
	// just after it, and those are neither requests nor errors.
	sent := cs.requests.Load()
	if sent+int64(res.Dropped) != 100 || sent < 50 || res.Errors != 0 {
		t.Errorf("server saw %d requests, errors %d dropped %d; want 100 sent or dropped, most of them sent, no errors", sent, res.Errors, res.Dropped)
	}
	if int64(res.Requests) > sent || int64(res.Requests) < sent-10 {
		t.Errorf("measured %d of the %d sent, want all but the few that finish after the window", res.Requests, sent)
	}
}

// TestOpenLoopScheduleStartsAtWindow: the arrivals are counted from the
// window's start. A schedule counted from after the pool's set-up (400
// connections here) lost its last arrivals past the window's end: CI saw
// 99 of 100 in TestOpenLoopRate, and this test 137 and 183 of 200.
func TestOpenLoopScheduleStartsAtWindow(t *testing.T) {
	for _, warmup := range []time.Duration{0, 50 * time.Millisecond} {
		cs := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		res, err := Run(context.Background(), Options{
			Addr: cs.addr(), Connections: 400, Rate: 2000,
			Warmup: warmup, Duration: 100 * time.Millisecond,
			Request: Request{Path: "/"},
		})
		if err != nil {
			t.Fatal(err)
		}
		// Drops count only inside the window; warm-up arrivals all find
		// a free connection here (400 connections, a 0 ms handler) or are
		// uncounted, so sent is at least the window's 200 less its drops.
		sent := cs.requests.Load()
		want := int64(200 + 2000*warmup/time.Second)
		if sent+int64(res.Dropped) < 200 || sent > want {
			t.Errorf("warm-up %v: server saw %d, dropped %d; want the window's 200 sent or dropped and at most %d sent in all", warmup, sent, res.Dropped, want)
		}
	}
}

func TestOpenLoopDropsBeyondConnections(t *testing.T) {
	cs := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	res, err := Run(context.Background(), Options{
		Addr: cs.addr(), Connections: 2, Rate: 100, Duration: 300 * time.Millisecond,
		Request: Request{Path: "/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// 2 connections × 100ms per request serve ~6 of 30 scheduled arrivals.
	if res.Dropped < 15 {
		t.Errorf("dropped %d of 30 arrivals with 2 slow connections, want most", res.Dropped)
	}
	// Latency counts from the scheduled start, so it is at least the service time.
	if res.Latency.Min() < 100*time.Millisecond {
		t.Errorf("min latency %v, want ≥ 100ms", res.Latency.Min())
	}
}

func TestErrorsCountedByKind(t *testing.T) {
	var n atomic.Int64
	cs := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 3 {
		case 0:
			w.WriteHeader(502)
		case 1:
			io.WriteString(w, "truncated")
		default:
			io.WriteString(w, "good END")
		}
	})
	res, err := Run(context.Background(), Options{
		Addr: cs.addr(), Connections: 1, Duration: 200 * time.Millisecond,
		Request: Request{Path: "/", Expect: []byte("END")},
	})
	if err != nil {
		t.Fatal(err)
	}
	total := res.Requests + res.Errors
	if res.Requests == 0 || res.ErrorKinds["status_502"] == 0 || res.ErrorKinds["bad_body"] == 0 {
		t.Fatalf("requests %d, kinds %v", res.Requests, res.Kinds())
	}
	if got := res.ErrorKinds["status_502"] + res.ErrorKinds["bad_body"]; got != res.Errors {
		t.Errorf("kinds sum to %d, errors %d", got, res.Errors)
	}
	// One connection, strictly rotating answers: each kind is a third (±1).
	for _, c := range []uint64{res.Requests, res.ErrorKinds["status_502"], res.ErrorKinds["bad_body"]} {
		if c+1 < total/3 || c > total/3+1 {
			t.Errorf("counts %d / %d / %d of %d: want a third each", res.Requests, res.ErrorKinds["status_502"], res.ErrorKinds["bad_body"], total)
			break
		}
	}
}

func TestRefusedConnection(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	res, err := Run(context.Background(), Options{Addr: addr, Connections: 1, Duration: 50 * time.Millisecond, Request: Request{Path: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.ErrorKinds["refused"] == 0 {
		t.Errorf("requests %d kinds %v, want only refused", res.Requests, res.Kinds())
	}
}

func TestRunValidatesOptions(t *testing.T) {
	ok := Options{Addr: "127.0.0.1:1", Request: Request{Path: "/"}, Connections: 1, Duration: 50 * time.Millisecond}
	// A rate whose interval rounds to 0 ns schedules every arrival at the
	// start: the open loop, which stops at the window's end by the
	// schedule alone, would spin until ctx ends (here 2 s; forever for a
	// caller without a deadline).
	tooFast, infinite := ok, ok
	tooFast.Rate, infinite.Rate = 2e9, math.Inf(1)
	for _, o := range []Options{{}, {Addr: "x:1", Request: Request{Path: "/"}}, {Addr: "x:1", Request: Request{Path: "/"}, Connections: 1}, tooFast, infinite} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := Run(ctx, o)
		cancel()
		if err == nil {
			t.Errorf("Run(%+v): no error", o)
		}
	}
}
