package h1

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowHandshakes wraps a listener: each accepted connection waits delay
// before its first read, so a TLS client's dial (connect and handshake)
// stays in progress that long. inFlight counts such connections, peak the
// most at once.
type slowHandshakes struct {
	net.Listener
	delay          time.Duration
	inFlight, peak atomic.Int64
}

func (l *slowHandshakes) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := l.inFlight.Add(1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	return &slowFirstRead{Conn: c, l: l}, nil
}

type slowFirstRead struct {
	net.Conn
	l    *slowHandshakes
	once sync.Once
}

func (c *slowFirstRead) Read(b []byte) (int, error) {
	c.once.Do(func() {
		time.Sleep(c.l.delay)
		c.l.inFlight.Add(-1)
	})
	return c.Conn.Read(b)
}

func slowTLSServer(t *testing.T, delay time.Duration) (*httptest.Server, *slowHandshakes) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	l := &slowHandshakes{Listener: srv.Listener, delay: delay}
	srv.Listener = l
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, l
}

// TestDialsPerHostAreBounded: a burst of requests to a host with no idle
// connection opens at most MaxDialsPerHost connections at once, and every
// request is answered.
func TestDialsPerHostAreBounded(t *testing.T) {
	srv, l := slowTLSServer(t, 100*time.Millisecond)
	tr := &Transport{MaxDialsPerHost: 3, TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	defer tr.CloseIdleConnections()
	pool := tr.pool(mustURL(t, srv.URL))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 12 {
		wg.Go(func() {
			resp, err := post(t, tr, context.Background(), srv.URL, "{}")
			if err != nil {
				t.Error(err)
				failed.Add(1)
				return
			}
			if body := readAll(t, resp); body != "ok" {
				t.Errorf("body %q", body)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		return
	}
	if p := l.peak.Load(); p > 3 {
		t.Errorf("%d handshakes at once, want at most MaxDialsPerHost (3)", p)
	}
	if p := l.peak.Load(); p < 2 {
		t.Errorf("%d handshakes at once: the burst was not concurrent, the test proves nothing", p)
	}
	if n := len(pool.dialing); n != 0 {
		t.Errorf("%d dial slots still taken after every request ended", n)
	}
}

// TestWaitForADialEndsWithTheRequest: a request waiting for a dial slot
// gives up when its context ends, without waiting for the dial in progress.
func TestWaitForADialEndsWithTheRequest(t *testing.T) {
	srv, _ := slowTLSServer(t, time.Second)
	tr := &Transport{MaxDialsPerHost: 1, TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	defer tr.CloseIdleConnections()
	first := make(chan error, 1)
	go func() {
		resp, err := post(t, tr, context.Background(), srv.URL, "{}")
		if err == nil {
			resp.Body.Close()
		}
		first <- err
	}()
	time.Sleep(100 * time.Millisecond) // the first request is dialling
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := post(t, tr, ctx, srv.URL, "{}")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if took := time.Since(began); took > 600*time.Millisecond {
		t.Errorf("gave up after %v: it waited for the dial in progress", took)
	}
	if err := <-first; err != nil {
		t.Errorf("the first request: %v", err)
	}
	if n := len(tr.pool(mustURL(t, srv.URL)).dialing); n != 0 {
		t.Errorf("%d dial slots still taken after both requests ended", n)
	}
}

// TestAWaitForADialTimesOutLikeADial: while the dials in progress hang (an
// upstream that drops connection attempts), a request waiting for a slot
// fails after a dial's time, with a timeout, not after the queue ahead.
func TestAWaitForADialTimesOutLikeADial(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	tr := &Transport{MaxDialsPerHost: 1, DialTimeout: 200 * time.Millisecond}
	defer tr.CloseIdleConnections()
	pool := tr.pool(mustURL(t, srv.URL))
	pool.dialing <- struct{}{} // a dial that hangs holds the only slot
	defer func() { <-pool.dialing }()
	began := time.Now()
	_, err := post(t, tr, context.Background(), srv.URL, "{}")
	took := time.Since(began)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took < 150*time.Millisecond || took > 2*time.Second {
		t.Errorf("gave up after %v, want about the dial timeout (200ms)", took)
	}
}

// TestAWaitingRequestTakesAReturnedConnection: a request waiting for a dial
// slot uses a connection that comes back idle instead of dialling another,
// and gives back any slot it took.
func TestAWaitingRequestTakesAReturnedConnection(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	})
	tr := &Transport{MaxDialsPerHost: 1}
	defer tr.CloseIdleConnections()
	pool := tr.pool(mustURL(t, srv.URL))
	pool.dialing <- struct{}{} // a dial in progress holds the only slot
	done := make(chan error, 1)
	go func() {
		resp, err := post(t, tr, context.Background(), srv.URL, "{}")
		if err == nil {
			if body := readAll(t, resp); body != "ok" {
				err = errors.New("body " + body)
			}
		}
		done <- err
	}()
	// The connection that dial opens comes back idle; then the dial ends.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for conns.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for pool.waiters.Load() == 0 {
		time.Sleep(time.Millisecond) // until the request waits
	}
	// The connection coming back wakes the request, though the dial
	// still holds the slot.
	pool.put(&persistConn{pool: pool, conn: c, raw: rawConnOf(c)})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request still waits for the slot: a returned connection did not wake it")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the server saw %d connections, want the returned one reused", n)
	}
	// A request that gets the slot and then finds an idle connection uses
	// it and gives the slot back. The connection goes into the pool
	// without put's wake-up, so the slot is what wakes the request.
	pool.mu.Lock()
	idle := pool.idle
	pool.idle = nil
	pool.mu.Unlock()
	done2 := make(chan error, 1)
	go func() {
		resp, err := post(t, tr, context.Background(), srv.URL, "{}")
		if err == nil {
			readAll(t, resp)
		}
		done2 <- err
	}()
	for pool.waiters.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	pool.mu.Lock()
	pool.idle = idle
	pool.mu.Unlock()
	<-pool.dialing // the dial ends
	if err := <-done2; err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the server saw %d connections, want the idle one reused", n)
	}
	if n := len(pool.dialing); n != 0 {
		t.Errorf("%d dial slots still taken", n)
	}
}
