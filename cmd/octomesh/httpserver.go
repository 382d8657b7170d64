package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/h1server"
)

// httpServer is what serve needs of an inbound server; net/http's Server
// and h1server's both have it.
type httpServer interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

// newHTTPServer builds the inbound server that server.engine names.
func newHTTPServer(c config.Server, h http.Handler, log *slog.Logger) httpServer {
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	if c.Engine == "net/http" {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: c.ReadHeaderTimeout,
			ReadTimeout:       c.ReadTimeout,
			WriteTimeout:      c.WriteTimeout,
			IdleTimeout:       c.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          errLog,
		}
	}
	return &h1server.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errLog,
	}
}
