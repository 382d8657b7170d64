// Package loadgen is a small HTTP/1.1 load generator for benchmarks:
// closed loop (a fixed number of connections, each sending its next request
// as soon as the last one is answered) or open loop (requests at a fixed
// rate, whatever the target's latency, so a slow target cannot slow the
// load: latency is measured from each request's scheduled start, which
// avoids coordinated omission).
//
// It records latency and, for streams, time to first byte of the body in
// log-linear histograms (Histogram), counts errors by kind, and computes
// throughput over a measurement window that follows a warm-up.
//
// Run blocks for the warm-up plus the duration plus the time in-flight
// requests take to finish (bounded by Options.Timeout); every goroutine it
// starts has ended when it returns.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Request is the request every connection sends, over and over.
type Request struct {
	Method string      // default POST
	Path   string      // e.g. /v1/chat/completions
	Header [][2]string // extra headers (Host and Content-Length are added)
	Body   []byte
	// Expect, when set, must be the last bytes of every 200 response's body
	// (e.g. "data: [DONE]\n\n" for an OpenAI stream); a response that ends
	// otherwise is counted as an error of kind "bad_body".
	Expect []byte
}

// Options configure a run.
type Options struct {
	Addr    string // host:port of the target
	Request Request
	// Connections is the closed loop's concurrency, or the open loop's
	// largest number of requests in flight (arrivals beyond it are dropped).
	Connections int
	// Rate, when positive, selects the open loop: requests per second.
	Rate     float64
	Duration time.Duration // the measurement window
	Warmup   time.Duration // load before the window, not measured
	Timeout  time.Duration // bound on one request; default 60s
}

// Result is what a run measured. Counts and histograms cover requests that
// finished inside the measurement window.
type Result struct {
	Requests   uint64            // finished with status 200 and the expected body
	Errors     uint64            // everything else
	ErrorKinds map[string]uint64 // e.g. "status_502", "bad_body", "io"
	Dropped    uint64            // open loop: arrivals with no free connection
	Elapsed    time.Duration     // the measurement window actually covered
	Throughput float64           // Requests per second over Elapsed
	Bytes      int64             // response body bytes of measured requests
	Latency    *Histogram        // start (scheduled start, open loop) to last byte
	FirstByte  *Histogram        // start to first body byte
}

// worker is the state of one connection: reused across requests, owned by
// one goroutine at a time.
type worker struct {
	c         *conn
	lat, ttfb *Histogram
	ok, errs  uint64
	bytes     int64
	kinds     map[string]uint64
}

func newWorker(addr string, timeout time.Duration) *worker {
	return &worker{c: newConn(addr, timeout), lat: NewHistogram(), ttfb: NewHistogram(), kinds: map[string]uint64{}}
}

// one sends one request that started (or was scheduled to start) at t0 and
// records it if it finished inside [from, to).
func (w *worker) one(req, expect []byte, t0, from, to time.Time) {
	resp, err := w.c.do(req, expect)
	end := time.Now()
	if end.Before(from) || !end.Before(to) {
		return
	}
	switch {
	case err == nil && resp.status == 200:
		w.ok++
		w.bytes += resp.bytes
		w.lat.Record(end.Sub(t0))
		if !resp.firstByte.IsZero() {
			w.ttfb.Record(resp.firstByte.Sub(t0))
		}
	case errors.Is(err, errBadBody):
		w.errs++
		w.kinds["bad_body"]++
	case err != nil:
		w.errs++
		w.kinds[errorKind(err)]++
	default:
		w.errs++
		w.kinds[fmt.Sprintf("status_%d", resp.status)]++
	}
}

func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	}
	return "io"
}

// Run drives the load described by o until the window ends or ctx is done.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Addr == "" || o.Request.Path == "" {
		return nil, errors.New("loadgen: Addr and Request.Path are required")
	}
	if o.Connections <= 0 {
		return nil, errors.New("loadgen: Connections must be positive")
	}
	if o.Duration <= 0 {
		return nil, errors.New("loadgen: Duration must be positive")
	}
	if o.Rate > 0 && time.Duration(float64(time.Second)/o.Rate) <= 0 {
		// The arrivals' interval would be 0: every one at the start, and
		// the open loop, which ends when the schedule reaches the window's
		// end, would never end.
		return nil, fmt.Errorf("loadgen: Rate %g is above one request a nanosecond", o.Rate)
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	req := EncodeRequest(o.Addr, o.Request)
	start := time.Now()
	from := start.Add(o.Warmup)
	to := from.Add(o.Duration)
	// The open loop stops scheduling at to by itself, and it is given the
	// caller's context, not this deadline: an arrival scheduled before to
	// is sent even when a loaded machine wakes the scheduler after to, so
	// the target sees every arrival of the schedule (a test saw 96 of 100).
	parent := ctx
	ctx, cancel := context.WithDeadline(ctx, to)
	defer cancel()

	var workers []*worker
	var dropped uint64
	if o.Rate > 0 {
		workers, dropped = openLoop(parent, o, req, from, to)
	} else {
		workers = closedLoop(ctx, o, req, from, to)
	}
	end := time.Now()
	if end.After(to) {
		end = to
	}
	r := &Result{ErrorKinds: map[string]uint64{}, Dropped: dropped, Latency: NewHistogram(), FirstByte: NewHistogram()}
	for _, w := range workers {
		w.c.close()
		r.Requests += w.ok
		r.Errors += w.errs
		r.Bytes += w.bytes
		r.Latency.Merge(w.lat)
		r.FirstByte.Merge(w.ttfb)
		for k, v := range w.kinds {
			r.ErrorKinds[k] += v
		}
	}
	r.Elapsed = end.Sub(from)
	if r.Elapsed > 0 {
		r.Throughput = float64(r.Requests) / r.Elapsed.Seconds()
	}
	return r, nil
}

// closedLoop runs one goroutine per connection, each sending its next
// request when the last one is answered, until ctx is done.
func closedLoop(ctx context.Context, o Options, req []byte, from, to time.Time) []*worker {
	workers := make([]*worker, o.Connections)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker(o.Addr, o.Timeout)
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(to) {
					return
				}
				w.one(req, o.Request.Expect, t0, from, to)
			}
		}()
	}
	wg.Wait()
	return workers
}

// openLoop schedules requests at o.Rate on a pool of at most o.Connections
// connections. Each request's latency counts from its scheduled start.
func openLoop(ctx context.Context, o Options, req []byte, from, to time.Time) ([]*worker, uint64) {
	// The whole pool exists from the start and is used in turn (the
	// channel is FIFO), so every connection opens within the first
	// o.Connections requests. Grown on demand, the pool would creep up to
	// the worst moment's concurrency over a long run, and the target's
	// per-connection memory with it, which a soak would read as a leak.
	free := make(chan *worker, o.Connections)
	all := make([]*worker, 0, o.Connections)
	for range o.Connections {
		w := newWorker(o.Addr, o.Timeout)
		all = append(all, w)
		free <- w
	}
	var wg sync.WaitGroup
	var dropped atomic.Uint64
	interval := time.Duration(float64(time.Second) / o.Rate)
	// The schedule is anchored at the window's start, not at the moment
	// this loop begins: setting up the pool takes time (milliseconds
	// under -race), and a schedule counted from after it would put its
	// last arrivals past to, so a window would see fewer than
	// Rate×Duration of them. Warm-up arrivals are the whole intervals
	// that fit before from.
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := -int(o.Warmup / interval); ; i++ {
		at := from.Add(time.Duration(i) * interval)
		if !at.Before(to) {
			break
		}
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		var w *worker
		select {
		case w = <-free:
		default: // every connection is busy: the request is dropped
		}
		if w == nil {
			if !at.Before(from) {
				dropped.Add(1)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.one(req, o.Request.Expect, at, from, to)
			free <- w
		}()
	}
	wg.Wait()
	return all, dropped.Load()
}

// Kinds returns the error kinds of r sorted by name, as "kind=count".
func (r *Result) Kinds() []string {
	var out []string
	for k, v := range r.ErrorKinds {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
