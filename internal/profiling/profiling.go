// Package profiling serves Go's runtime profiles (net/http/pprof: CPU,
// heap, allocations, goroutines, blocking, mutexes, execution traces) on a
// listener of their own, so that the gateway's cost can be measured under
// real load: `octomesh serve --pprof 127.0.0.1:6060`, then for example
//
//	go tool pprof -top http://127.0.0.1:6060/debug/pprof/profile?seconds=10
//	go tool pprof -sample_index=alloc_space -top http://127.0.0.1:6060/debug/pprof/allocs
//
// It is off unless asked for, and only ever listens on a loopback address:
// profiles name every function and can reveal request shapes, so they are
// for the operator's own shell (or an SSH tunnel), never the network. The
// handlers are mounted on a private mux; nothing OctoMesh serves uses
// http.DefaultServeMux, where importing net/http/pprof also puts them.
package profiling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Start listens on addr and serves the profiles under /debug/pprof/ until
// stop is called. An empty addr starts nothing and returns a no-op stop.
// It returns an error when addr is not a loopback host:port or cannot be
// listened on. stop waits up to five seconds for profiles being written.
func Start(addr string, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// No write timeout: a CPU profile or trace takes as long as asked.
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Warn("pprof listener stopped", "cause", err.Error())
		}
	}()
	if log != nil {
		log.Info("serving profiles", "addr", ln.Addr().String(), "path", "/debug/pprof/")
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
}

// Handler returns the profile handlers on a mux of their own.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves the named profiles: heap, allocs, goroutine…
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// checkLoopback accepts host:port whose host is localhost or a loopback IP.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("pprof: address %q must be host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("pprof: address %q is not a loopback address: profiles are served to this machine only (e.g. 127.0.0.1:6060)", addr)
}
