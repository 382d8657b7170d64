// Package bench is OctoMesh's benchmark harness: it measures the gateway's
// own cost against a local mock upstream, side by side with the floor of a
// bare reverse proxy (nginx, and a minimal Go proxy), in one run on one
// machine, and reports ratios against that floor.
//
// The pieces live in subpackages:
//
//   - mockupstream: a fast fake provider speaking OpenAI's and Anthropic's
//     wire formats (pre-encoded bodies; configurable delay, time to first
//     token, tokens per second and response size);
//   - loadgen: an HTTP/1.1 load generator (closed loop at a fixed
//     concurrency, open loop at a fixed rate) with log-linear latency
//     histograms;
//   - procstat: CPU time and peak RSS of a process tree from /proc;
//   - harness: the scenarios, the targets (processes it starts and stops)
//     and the markdown/JSON report. The router scenario runs no target:
//     `octomesh bench router` (cmd/octomesh/bench_router.go) measures the
//     routing decision in process and prints JSON for the report.
//
// `octomesh bench` (cmd/octomesh/bench.go) runs the harness; bench/compare.sh
// runs the hot-path Go benchmarks (bench_test.go here and in the internal
// packages) and compares them with the committed baseline,
// bench/baseline.txt. On a busy machine, where ns/op moves from run to run,
// bench/callgrind.sh counts one benchmark's instructions per op instead.
//
// To see where the gateway's time goes under load, `octomesh bench
// --profile DIR` runs the target with `octomesh serve --pprof ADDR` (a
// loopback-only net/http/pprof listener, internal/profiling) and saves a
// CPU profile of each scenario's window and its allocation and heap
// profiles as DIR/<scenario>.{cpu,allocs,heap}.pprof; read them with
// `go tool pprof -top DIR/stream.cpu.pprof`. The profiler costs a few
// percent, so a profiled run's figures are noted as such and are not for
// the README.
package bench
