package harness

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/octomesh/octomesh/bench/loadgen"
)

// measured is one target's measurement in one round: the figures and the
// load generator's result, whose histograms the rounds merge.
type measured struct {
	tr  TargetResult
	res *loadgen.Result // nil when the measurement failed
}

// Round is one round's headline figures for a target.
type Round struct {
	Throughput float64 `json:"throughput_rps"`
	P99        float64 `json:"p99_ms"`
	TTFBP99    float64 `json:"ttfb_p99_ms,omitempty"` // streams: first byte's p99
}

// mergeRounds folds a target's rounds into one result: counts and CPU are
// summed over all windows, allocations per request are weighted over the
// rounds that read them, latencies come from the merged histograms,
// peak memory is the highest round's, and each round's throughput and p99
// are kept for paired comparisons. A failed round makes the result that
// round's failure.
func mergeRounds(sc Scenario, ms []measured) TargetResult {
	if len(ms) == 1 {
		return ms[0].tr
	}
	for _, m := range ms {
		if m.tr.Err != "" || m.res == nil {
			return m.tr
		}
	}
	out := ms[0].tr
	lat, fb := loadgen.NewHistogram(), loadgen.NewHistogram()
	var elapsed time.Duration
	var allocs, allocKB float64
	var allocReqs uint64 // requests of the rounds with an allocation figure
	out.Requests, out.Errors, out.Dropped, out.CPUSeconds, out.ErrorKinds, out.Notes = 0, 0, 0, 0, nil, nil
	for _, m := range ms {
		out.Requests += m.tr.Requests
		out.Errors += m.tr.Errors
		out.Dropped += m.tr.Dropped
		out.CPUSeconds += m.tr.CPUSeconds
		for k, v := range m.tr.ErrorKinds {
			if out.ErrorKinds == nil {
				out.ErrorKinds = map[string]uint64{}
			}
			out.ErrorKinds[k] += v
		}
		for _, n := range m.tr.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
		lat.Merge(m.res.Latency)
		if m.res.FirstByte != nil {
			fb.Merge(m.res.FirstByte)
		}
		elapsed += m.res.Elapsed
		if m.tr.AllocsPerReq > 0 { // 0: not OctoMesh, or /metrics unread
			allocs += m.tr.AllocsPerReq * float64(m.tr.Requests)
			allocKB += m.tr.AllocKBPerReq * float64(m.tr.Requests)
			allocReqs += m.tr.Requests
		}
		out.PeakRSSMB = max(out.PeakRSSMB, m.tr.PeakRSSMB)
		out.PerStreamKB = max(out.PerStreamKB, m.tr.PerStreamKB)
		round := Round{Throughput: m.tr.Throughput, P99: m.tr.Latency.P99}
		if m.tr.TTFB != nil {
			round.TTFBP99 = m.tr.TTFB.P99
		}
		out.Rounds = append(out.Rounds, round)
	}
	out.Latency = percentiles(lat)
	if sc.Stream {
		p := percentiles(fb)
		out.TTFB = &p
	}
	if elapsed > 0 {
		out.Throughput = float64(out.Requests) / elapsed.Seconds()
		out.CPUCores = out.CPUSeconds / elapsed.Seconds()
	}
	if out.Requests > 0 {
		out.CPUPerReq = out.CPUSeconds * 1e6 / float64(out.Requests)
	}
	if allocReqs > 0 {
		out.AllocsPerReq = allocs / float64(allocReqs)
		out.AllocKBPerReq = allocKB / float64(allocReqs)
	}
	return out
}

// p99Added is how much o's p99 exceeds d's, in ms. With rounds on both
// sides it is the median of the rounds' paired differences, and how says
// so with every round's difference; otherwise it is the two windows'
// difference.
func p99Added(o, d *TargetResult) (added float64, how string) {
	return pairedAdded(o, d, o.Latency.P99-d.Latency.P99, func(r Round) float64 { return r.P99 })
}

// ttfbP99Added is p99Added for the first byte; ok is false when either
// side has no first-byte figures.
func ttfbP99Added(o, d *TargetResult) (added float64, how string, ok bool) {
	if o.TTFB == nil || d.TTFB == nil {
		return 0, "", false
	}
	added, how = pairedAdded(o, d, o.TTFB.P99-d.TTFB.P99, func(r Round) float64 { return r.TTFBP99 })
	return added, how, true
}

// throughputRatio is o's throughput over f's (f's is not 0). With rounds
// on both sides it is the median of the rounds' paired ratios, and how
// says so with every round's ratio and the merged windows' ratio;
// otherwise (or when a round of f served nothing) it is the merged
// windows' ratio.
func throughputRatio(o, f *TargetResult) (ratio float64, how string) {
	merged := o.Throughput / f.Throughput
	if len(o.Rounds) < 2 || len(o.Rounds) != len(f.Rounds) {
		return merged, ""
	}
	ratios := make([]float64, len(o.Rounds))
	each := make([]string, len(o.Rounds))
	for i := range o.Rounds {
		if f.Rounds[i].Throughput <= 0 {
			return merged, ""
		}
		ratios[i] = o.Rounds[i].Throughput / f.Rounds[i].Throughput
		each[i] = fmt.Sprintf("%.1f%%", ratios[i]*100)
	}
	return median(ratios), fmt.Sprintf(" (median of %d rounds: %s; %.1f%% over all windows)", len(ratios), strings.Join(each, ", "), merged*100)
}

// median returns the median of xs (not empty), which it leaves unsorted.
func median(xs []float64) float64 {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 0 {
		return (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return sorted[n/2]
}

// pairedAdded is the median of the rounds' paired differences of a
// figure (of), or whole, the merged windows' difference, without rounds
// on both sides.
func pairedAdded(o, d *TargetResult, whole float64, of func(Round) float64) (added float64, how string) {
	if len(o.Rounds) < 2 || len(o.Rounds) != len(d.Rounds) {
		return whole, ""
	}
	diffs := make([]float64, len(o.Rounds))
	each := make([]string, len(o.Rounds))
	for i := range o.Rounds {
		diffs[i] = of(o.Rounds[i]) - of(d.Rounds[i])
		each[i] = fmt.Sprintf("%+.2f", diffs[i])
	}
	return median(diffs), fmt.Sprintf(" (median of %d rounds: %s ms)", len(diffs), strings.Join(each, ", "))
}
