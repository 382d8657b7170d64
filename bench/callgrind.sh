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
# the runtime's preemption signals), and tell the runtime the CPU has no
# RDTSCP (GODEBUG cpu.rdtscp=off; the runtime's internal/cpu knows the name,
# golang.org/x/sys/cpu in the binary may warn it does not): valgrind 3.19
# cannot run that instruction, which the runtime's cputicks uses, and a run
# that reaches it dies of SIGILL, about one in two here, leaving a partial
# count. A run counts only if it exits 0 and prints the benchmark's line for
# N iterations and PASS; otherwise it is retried, and after 4 failed runs
# the script fails, showing the last one's output. Garbage collection is
# included, so a benchmark that allocates shows some run-to-run jitter
# (±2%); use N values large enough that each run spans several GC cycles.
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
	local out="$work/cg.$1" log="$work/log.$1"
	for _ in 1 2 3 4; do
		rm -f "$out"*
		local rc=0
		(cd "$work" && GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind --callgrind-out-file="$out" \
			./pkg.test -test.run '^$' -test.bench "$bench" -test.benchtime "${1}x" -test.count 1 >"$log" 2>&1) || rc=$?
		if grep -q 'GODEBUG: unknown cpu feature "rdtscp"' "$log"; then
			echo "this Go runtime does not know GODEBUG cpu.rdtscp: its runs may die of SIGILL under valgrind" >&2
			exit 1
		fi
		# The benchmark's line: its name, then the iteration count.
		if [ "$rc" = 0 ] && grep -qE "^Benchmark[^ 	]*[ 	]+${1}[ 	]" "$log" && grep -qx PASS "$log"; then
			local v
			v=$(grep -h '^summary:' "$out"* | awk '{s += $2} END {print s + 0}')
			if [ "$v" != 0 ]; then echo "$v"; return; fi
		fi
		echo "callgrind run of $bench at ${1}x failed (exit $rc; $(grep -cE "^Benchmark[^ 	]*[ 	]+${1}[ 	]" "$log") benchmark lines; $(grep -cx PASS "$log") PASS), retrying" >&2
	done
	echo "callgrind failed for $bench at ${1}x 4 times; the last run's output:" >&2
	tail -n 30 "$log" >&2
	exit 1
}
a=$(ir "$n1")
b=$(ir "$n2")
echo "$pkg $bench: $(( (b - a) / (n2 - n1) )) instructions/op (Ir $a at ${n1}x, $b at ${n2}x)"
