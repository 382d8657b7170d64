package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Markers delimit the README's generated performance section.
const (
	ReadmeStart = "<!-- bench:start -->"
	ReadmeEnd   = "<!-- bench:end -->"
)

var targetTitle = map[string]string{
	TargetDirect: "direct (mock upstream)", TargetNginx: "nginx", TargetGoProxy: "Go proxy", TargetOctoMesh: "OctoMesh",
}

// header describes the run in a few lines.
func (r *Report) header(b *bytes.Buffer) {
	mode := r.Mode
	if mode == "" {
		mode = "custom"
	}
	fmt.Fprintf(b, "Run %s in **%s** mode (each target measured for %s after a %s warm-up; pair scenarios for half as long), produced by `%s`",
		r.Started.Format("2006-01-02 15:04 UTC"), mode, r.Duration, r.Warmup, r.Command)
	if r.Binary != (Revision{}) {
		fmt.Fprintf(b, "; the binary was built from %s", r.Binary)
	}
	b.WriteString(".\n\n")
	m := r.Machine
	fmt.Fprintf(b, "Machine: %d CPUs", m.CPUs)
	if m.CPUModel != "" {
		fmt.Fprintf(b, " (%s)", m.CPUModel)
	}
	fmt.Fprintf(b, ", %s/%s", m.GOOS, m.GOARCH)
	if m.Kernel != "" {
		fmt.Fprintf(b, " %s", m.Kernel)
	}
	fmt.Fprintf(b, ", %s", m.GoVersion)
	if m.Nginx != "" {
		fmt.Fprintf(b, ", %s", m.Nginx)
	}
	b.WriteString(". The load generator, the mock upstream and the target share the machine, so absolute figures move between runs; the ratios within one run are the figures to compare.\n\n")
}

// checksTable renders the issue 6 targets.
func (r *Report) checksTable(b *bytes.Buffer) {
	b.WriteString("| OctoMesh target | required | measured | |\n|---|---|---|---|\n")
	for _, c := range r.Checks() {
		mark, got := "not measured", "–"
		if c.Known {
			got = c.Got
			switch {
			case c.Reference:
				mark = "for reference"
			case c.Pass:
				mark = "✅ met"
			default:
				mark = "❌ not met"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", c.Name, c.Target, got, mark)
	}
	b.WriteString("\n" + firstByteNote + "\n\n")
}

// firstByteNote says why the first-token target is read from the ttfb
// scenario and not from the saturation scenarios.
const firstByteNote = "The time to first token added is measured in `" + TTFBScenario + "`, an open loop below saturation. " +
	"Under saturation (`stream`, `streams2000`) the load generator, the mock upstream and the target together keep every core busy, " +
	"so a request's first byte waits for a CPU behind other requests' work and queueing dominates the tail (even nginx, the floor, adds to it there); " +
	"those rows are shown for reference, not as the target."

// scenarioNote explains what a scenario's figures mean, under its
// heading; "" when the title and the loop line say enough.
func scenarioNote(name string) string {
	switch name {
	case TTFBScenario:
		return "This scenario measures issue 6's \"time to first token added\" target. The load is an open loop at a rate every target serves with a fraction of a core, " +
			"so the machine is not saturated and a request's first byte does not wait for a CPU: the p99 first byte over direct's is what the gateway itself adds " +
			"(parsing, authentication, limits, routing, the upstream request, relaying the first chunk). Latency counts from each request's scheduled start."
	case "stream":
		return "At saturation the load generator, the mock upstream and the target keep both cores busy, so queueing for CPU dominates the tail: " +
			"the p99 first byte here is mostly the wait for a CPU, not what the gateway adds to a request (see `" + TTFBScenario + "` for that)."
	case "streams2000":
		return "2,000 streams keep both cores busy, so the first-byte figures include queueing for CPU behind the other streams' work; " +
			"they are for reference (see `" + TTFBScenario + "` for the first token the gateway adds)."
	}
	return ""
}

// summaryTable renders one row per scenario: every target's throughput and
// OctoMesh's ratios to the floors, and OctoMesh's failed requests (which
// the throughput does not count: a run that failed fast must not read as
// a good one).
func (r *Report) summaryTable(b *bytes.Buffer) {
	b.WriteString("| scenario | direct req/s | nginx req/s | Go proxy req/s | OctoMesh req/s | OctoMesh ÷ nginx | OctoMesh ÷ Go proxy | p99 latency, direct → OctoMesh | OctoMesh peak RSS | OctoMesh errors |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		if s.Router {
			continue // no targets: routerSection renders it
		}
		tp := func(t string) string {
			if x := s.Result(t); x != nil {
				return fmt.Sprintf("%.0f", x.Throughput)
			}
			return "–"
		}
		o := s.Result(TargetOctoMesh)
		rat := func(t string) string {
			if f := s.Result(t); f != nil && o != nil && f.Throughput > 0 {
				return fmt.Sprintf("%.0f%%", o.Throughput/f.Throughput*100)
			}
			return "–"
		}
		p99, rss, errs := "–", "–", "–"
		if d := s.Result(TargetDirect); d != nil && o != nil {
			p99 = fmt.Sprintf("%.2f → %.2f ms", d.Latency.P99, o.Latency.P99)
		}
		if o != nil {
			rss = fmt.Sprintf("%.1f MB", o.PeakRSSMB)
			errs = fmt.Sprintf("%d", o.Errors)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			s.Title, tp(TargetDirect), tp(TargetNginx), tp(TargetGoProxy), tp(TargetOctoMesh), rat(TargetNginx), rat(TargetGoProxy), p99, rss, errs)
	}
	b.WriteString("\n")
}

// routerSection renders the router scenario's note and table, if the run
// has them.
func (r *Report) routerSection(b *bytes.Buffer) {
	for i := range r.Scenarios {
		if s := &r.Scenarios[i]; s.RouterRun != nil && len(s.RouterRun.Cases) > 0 {
			s.RouterRun.render(b, s.Err)
		}
	}
}

// scenarioTable renders one scenario in full.
func (s *ScenarioResult) table(b *bytes.Buffer) {
	fmt.Fprintf(b, "### %s\n\n", s.Title)
	if s.Router {
		fmt.Fprintf(b, "`%s`: in process, each case warmed up for %s and measured for %s.\n\n", s.Name, s.Warmup, s.Window)
		switch {
		case s.RouterRun != nil && len(s.RouterRun.Cases) > 0:
			s.RouterRun.render(b, s.Err)
		case s.Err != "":
			fmt.Fprintf(b, "Not run: %s\n\n", oneLine(s.Err))
		default:
			b.WriteString("Not measured (octomesh was not a target).\n\n")
		}
		return
	}
	loop := fmt.Sprintf("closed loop, %d connections", s.Connections)
	if s.Rate > 0 {
		loop = fmt.Sprintf("open loop at %.0f req/s, up to %d connections", s.Rate, s.Connections)
	}
	rounds := ""
	if s.Rounds > 1 {
		rounds = fmt.Sprintf("; the targets measured in turn %d times (even rounds in reverse order), figures over all rounds", s.Rounds)
	}
	fmt.Fprintf(b, "`%s`: %s, %s in → %s upstream, warm-up %s, window %s%s.\n\n", s.Name, loop, formatTitle(s.Inbound), formatTitle(s.Outbound), s.Warmup, s.Window, rounds)
	if note := scenarioNote(s.Name); note != "" {
		b.WriteString(note + "\n\n")
	}
	if s.Err != "" {
		fmt.Fprintf(b, "Not run: %s\n\n", s.Err)
		return
	}
	b.WriteString("| target | req/s | ÷ nginx | ÷ Go proxy | p50 ms | p90 ms | p99 ms | p99.9 ms |")
	sep := "|---|---:|---:|---:|---:|---:|---:|---:|"
	if s.Stream {
		b.WriteString(" first byte p50 ms | first byte p99 ms | p99 first byte vs direct |")
		sep += "---:|---:|---:|"
	}
	b.WriteString(" errors | CPU cores | CPU µs/req | idle → peak RSS MB | allocs/req (KB) |")
	sep += "---:|---:|---:|---:|---:|"
	if s.Memory {
		b.WriteString(" KB per stream |")
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
	nginx, gop, direct := s.Result(TargetNginx), s.Result(TargetGoProxy), s.Result(TargetDirect)
	for _, t := range s.Targets {
		name := targetTitle[t.Target]
		if t.Err != "" {
			fmt.Fprintf(b, "| %s | not measured: %s |\n", name, oneLine(t.Err))
			continue
		}
		rat := func(f *TargetResult) string {
			if f == nil || f.Throughput == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f", t.Throughput/f.Throughput)
		}
		fmt.Fprintf(b, "| %s | %.0f | %s | %s | %.2f | %.2f | %.2f | %.2f |", name, t.Throughput, rat(nginx), rat(gop),
			t.Latency.P50, t.Latency.P90, t.Latency.P99, t.Latency.P999)
		if s.Stream {
			add := "–"
			if t.TTFB != nil && direct != nil && direct.TTFB != nil {
				add = fmt.Sprintf("%+.2f ms", t.TTFB.P99-direct.TTFB.P99)
			}
			if t.TTFB != nil {
				fmt.Fprintf(b, " %.2f | %.2f | %s |", t.TTFB.P50, t.TTFB.P99, add)
			} else {
				b.WriteString(" – | – | – |")
			}
		}
		errs := fmt.Sprintf("%d", t.Errors)
		if t.Errors > 0 {
			errs += " (" + strings.Join(sortedKinds(t.ErrorKinds), ", ") + ")"
		}
		if t.Dropped > 0 {
			errs += fmt.Sprintf(", %d dropped", t.Dropped)
		}
		fmt.Fprintf(b, " %s | %.2f | %.0f | %.1f → %.1f |", errs, t.CPUCores, t.CPUPerReq, t.IdleRSSMB, t.PeakRSSMB)
		if t.AllocsPerReq > 0 {
			fmt.Fprintf(b, " %.0f (%.1f) |", t.AllocsPerReq, t.AllocKBPerReq)
		} else {
			b.WriteString(" – |")
		}
		if s.Memory {
			fmt.Fprintf(b, " %.1f |", t.PerStreamKB)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, t := range s.Targets {
		if m := t.Memory; m != nil {
			b.WriteString(m.line(targetTitle[t.Target]) + "\n\n")
		}
		if k := t.Soak; k != nil {
			fmt.Fprintf(b, "%s RSS every %.0f s through the window (MB): %s. Start %.1f, end %.1f, max %.1f; slope over the second half %+.2f MB/min.\n\n",
				targetTitle[t.Target], k.IntervalS, joinMB(k.RSSMB), k.StartMB, k.EndMB, k.MaxMB, k.SlopeMBPerMin)
		}
	}
}

func joinMB(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	return clipString(s, 200)
}

// Markdown renders the whole report.
func (r *Report) Markdown() string {
	var b bytes.Buffer
	b.WriteString("# OctoMesh benchmark results\n\n")
	r.header(&b)
	b.WriteString("## Targets from issue 6\n\n")
	r.checksTable(&b)
	b.WriteString("## Summary\n\n")
	r.summaryTable(&b)
	b.WriteString("## Scenarios\n\n")
	b.WriteString("Ratios are throughput relative to the floor measured in this run. Latency counts from sending the request to the last byte of the response; first byte is the first byte of the response body. CPU is the target's process tree (nginx: master and workers) during the window; RSS is the tree's resident memory before the load and its peak (VmHWM) during it.\n\n")
	for i := range r.Scenarios {
		r.Scenarios[i].table(&b)
	}
	return b.String()
}

// ReadmeSection renders the README's performance section (without the markers).
func (r *Report) ReadmeSection() string {
	var b bytes.Buffer
	b.WriteString("\n")
	r.header(&b)
	b.WriteString("OctoMesh runs in its default configuration (authentication, routing with decision records, rate-limit and budget checks, the durable usage ledger on SQLite, metrics and request logging all on) in front of a mock upstream; nginx (a bare reverse proxy) and a minimal Go `httputil.ReverseProxy` are the floor. Regenerate this section with `octomesh bench --readme README.md --from <results.json>`; the full tables are in `bench/results/latest.md`.\n\n")
	r.summaryTable(&b)
	r.routerSection(&b)
	r.checksTable(&b)
	return b.String()
}

// UpdateReadme replaces the text between ReadmeStart and ReadmeEnd in the
// file at path with section. It fails if the markers are missing or out of
// order, leaving the file unchanged.
func UpdateReadme(path, section string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i := strings.Index(s, ReadmeStart)
	j := strings.Index(s, ReadmeEnd)
	if i < 0 || j < 0 || j < i {
		return errors.New(path + ": missing " + ReadmeStart + " … " + ReadmeEnd + " markers")
	}
	out := s[:i+len(ReadmeStart)] + "\n" + strings.Trim(section, "\n") + "\n" + s[j:]
	return os.WriteFile(path, []byte(out), 0o644)
}
