#!/usr/bin/env bash
# bench/callgrind.sh — instructions per op of one Go benchmark, counted by
# valgrind's callgrind: a figure that, unlike ns/op, does not move when the
# (shared, noisy) machine is busy.
#
#   bench/callgrind.sh ./internal/provider/openai 'BenchmarkStreamDecode$' [N1 N2]
#
# It builds the package's test binary and runs the benchmark twice, for N1
# and N2 iterations (default 200 and 600), and prints (Ir(N2) - Ir(N1)) /
# (N2 - N1): the instructions of one op, set-up and process start cancelled
# out. Runs use one P and no asynchronous preemption (callgrind trips over
# the runtime's preemption signals). Garbage collection is included, so a
# benchmark that allocates shows some run-to-run jitter (±2%); use N values
# large enough that each run spans several GC cycles.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${1:?usage: $0 PACKAGE BENCH-REGEXP [N1 N2]}
bench=${2:?usage: $0 PACKAGE BENCH-REGEXP [N1 N2]}
n1=${3:-200}
n2=${4:-600}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/pkg.test" "$pkg"
ir() {
	local out="$work/cg.$1"
	for _ in 1 2 3; do
		(cd "$work" && GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
			./pkg.test -test.run '^$' -test.bench "$bench" -test.benchtime "${1}x" -test.count 1 >/dev/null 2>&1) || true
		local v
		v=$(grep -h '^summary:' "$out"* 2>/dev/null | awk '{s += $2} END {print s + 0}')
		rm -f "$out"*
		if [ "$v" != 0 ]; then echo "$v"; return; fi
	done
	echo "callgrind failed for $bench at ${1}x" >&2
	exit 1
}
a=$(ir "$n1")
b=$(ir "$n2")
echo "$pkg $bench: $(( (b - a) / (n2 - n1) )) instructions/op (Ir $a at ${n1}x, $b at ${n2}x)"
