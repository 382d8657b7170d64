package main

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/postgres"
	"github.com/octomesh/octomesh/internal/storetest"
)

// TestDatabaseOutageKeepsUsage serves on PostgreSQL through a TCP proxy
// the test can cut. While the database is unreachable, requests from known
// keys keep being answered and their usage is spooled on local disk; once
// it is back, every answered request has exactly one ledger entry.
func TestDatabaseOutageKeepsUsage(t *testing.T) {
	if os.Getenv("OCTOMESH_TEST_POSTGRES_DSN") == "" {
		t.Skip("set OCTOMESH_TEST_POSTGRES_DSN")
	}
	dsn := storetest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := newCutProxy(t, u.Host)
	u.Host = px.addr
	ts := startAdminNode(t, u.String(), t.TempDir(), "om-admin-test-"+randomHex(t, 16))

	answered := map[string]bool{}
	send := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			r := ts.do(t, ts.AdminKey, "POST", "/v1/chat/completions", meterChat)
			if r.Status != 200 {
				t.Fatalf("status %d during phase with %d answered: %s", r.Status, len(answered), r.Body)
			}
			answered[r.Header.Get("X-Request-Id")] = true
		}
	}
	send(5)
	px.cut()
	send(20) // the database is gone: answers go on, usage goes to the spool
	spool, _ := os.ReadDir(ts.DataDir + "/ledger-spool")
	if len(spool) == 0 {
		t.Fatalf("nothing spooled during the outage")
	}
	px.restore()
	send(5)

	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		entries, err := db.Entries(context.Background(), defaultOrgID, octomesh.EntryFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range entries {
			seen[e.RequestID]++
		}
		missing := 0
		for id := range answered {
			if seen[id] == 0 {
				missing++
			}
		}
		dup := false
		for _, n := range seen {
			dup = dup || n > 1
		}
		if dup {
			t.Fatalf("a request has more than one entry: %v", seen)
		}
		if missing == 0 && len(entries) == len(answered) {
			t.Logf("%d answered (20 during the outage), %d ledger entries after the replay", len(answered), len(entries))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d answered requests have no ledger entry 20s after the database returned", missing, len(answered))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cutProxy forwards TCP to a target until cut, which closes the listener
// and every connection; restore listens again on the same address.
type cutProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}
