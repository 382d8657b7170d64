#!/usr/bin/env bash
# bench/compare.sh — run OctoMesh's hot-path Go benchmarks (-benchmem) and
# compare them with a saved baseline, benchstat style.
#
#   bench/compare.sh                 run, then compare with bench/baseline.txt if it exists
#   bench/compare.sh -save           run and save the result as the new baseline
#   bench/compare.sh -profile DIR    also write CPU and allocation profiles per package into DIR
#
# Environment: COUNT (runs per benchmark, default 6), BENCHTIME (default
# 300ms), BENCH (benchmark regexp, default .), BASELINE (default
# bench/baseline.txt), PKGS (packages, default the hot-path ones below).
#
# benchstat (golang.org/x/perf) is installed with `go install` on first use;
# it is a tool, not a dependency of the module. Without it (no module proxy)
# the script prints the two result files side by side instead.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${COUNT:-6}
benchtime=${BENCHTIME:-300ms}
bench=${BENCH:-.}
baseline=${BASELINE:-bench/baseline.txt}
pkgs=${PKGS:-"./internal/httpapi ./internal/h1server ./internal/provider ./internal/provider/h1 ./internal/provider/openai ./internal/provider/anthropic ./internal/apikey ./internal/telemetry ./internal/router ./bench"}
save=0
profdir=""
while [ $# -gt 0 ]; do
	case "$1" in
	-save) save=1 ;;
	-profile) profdir=$2; shift ;;
	*) echo "usage: $0 [-save] [-profile DIR]" >&2; exit 2 ;;
	esac
	shift
done

mkdir -p bench/results/tmp
out=bench/results/tmp/gobench-$(date -u +%Y%m%d-%H%M%S).txt
# Packages that do not exist yet (e.g. internal/router before it lands) are skipped.
present=""
for p in $pkgs; do
	if [ -d "$p" ]; then present="$present $p"; else echo "skipping $p: not present" >&2; fi
done
echo "go test -run '^\$' -bench '$bench' -benchmem -count $count -benchtime $benchtime$present" >&2
go test -run '^$' -bench "$bench" -benchmem -count "$count" -benchtime "$benchtime" $present | tee "$out"
echo "results: $out" >&2

if [ -n "$profdir" ]; then
	mkdir -p "$profdir"
	for p in $present; do
		name=$(echo "${p#./}" | tr / _)
		go test -run '^$' -bench "$bench" -benchmem -benchtime 2s -count 1 \
			-cpuprofile "$profdir/$name.cpu.pprof" -memprofile "$profdir/$name.mem.pprof" \
			-o "$profdir/$name.test" "$p" >/dev/null
		echo "profiles: $profdir/$name.{cpu,mem}.pprof  (go tool pprof -top $profdir/$name.test $profdir/$name.cpu.pprof)" >&2
	done
fi

if [ "$save" = 1 ]; then
	cp "$out" "$baseline"
	echo "saved as the baseline: $baseline" >&2
	exit 0
fi
if [ ! -f "$baseline" ]; then
	echo "no baseline at $baseline; run with -save to make one" >&2
	exit 0
fi

benchstat=$(command -v benchstat || true)
if [ -z "$benchstat" ]; then
	gobin=$(go env GOPATH)/bin
	if [ ! -x "$gobin/benchstat" ]; then
		echo "installing benchstat (go install golang.org/x/perf/cmd/benchstat@latest)" >&2
		GOFLAGS= go install golang.org/x/perf/cmd/benchstat@latest >&2 || true
	fi
	[ -x "$gobin/benchstat" ] && benchstat=$gobin/benchstat
fi
if [ -n "$benchstat" ]; then
	"$benchstat" "$baseline" "$out"
else
	echo "benchstat unavailable; baseline and new results:" >&2
	paste "$baseline" "$out" | grep Benchmark || true
fi
