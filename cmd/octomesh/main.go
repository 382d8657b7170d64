// Command octomesh is the OctoMesh AI task router.
//
//	octomesh serve [--config FILE] [--listen ADDR] [--data-dir DIR]
//	octomesh version
//
// main only wires signals to run, which does everything else, so end-to-end
// tests can drive the real program in-process.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "octomesh:", err)
		os.Exit(exitCode(err))
	}
}
