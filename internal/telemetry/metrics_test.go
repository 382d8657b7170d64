package telemetry

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

const ms = time.Millisecond

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	var b strings.Builder
	n, err := m.WriteTo(&b)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteTo returned %d bytes, wrote %d", n, b.Len())
	}
	return b.String()
}

func TestExpositionGolden(t *testing.T) {
	m := newMetrics([]time.Duration{100 * ms, time.Second, 10 * time.Second}, []time.Duration{250 * ms, time.Second}, DefaultSeriesLimit)
	m.IncInflight()
	m.IncInflight()
	m.DecInflight()
	// gpt-4o-mini at $0.15 / $0.60 per million tokens: 10 + 5 tokens cost 4500 nano-dollars.
	m.ObserveRequest(RequestObservation{Route: "chat", Model: "gpt-4o-mini", Provider: "openai", Status: 200,
		Latency: 120 * ms, PromptTokens: 10, CompletionTokens: 5, Cost: 4500})
	m.ObserveRequest(RequestObservation{Route: "chat", Model: "gpt-4o-mini", Provider: "openai", Status: 200, Stream: true,
		Latency: 1500 * ms, TTFT: 300 * ms, PromptTokens: 20, CompletionTokens: 40, Cost: 27000})
	// Exactly on a bucket bound: counted in that bucket (le is inclusive).
	m.ObserveRequest(RequestObservation{Route: "chat", Model: "gpt-4o-mini", Provider: "openai", Status: 200,
		Latency: 100 * ms, PromptTokens: 1, CompletionTokens: 1, Cost: 750})
	m.ObserveRequest(RequestObservation{Route: "messages", Model: "claude-sonnet", Provider: "anthropic", Status: 503,
		Latency: 2 * time.Second, UpstreamErrorCode: "overloaded"})
	m.ObserveUpstreamError("anthropic", "claude-sonnet", "overloaded")
	m.ObserveRequest(RequestObservation{Route: "embeddings", Model: "text-embedding-3-small", Provider: "openai", Status: 200,
		Latency: 40 * ms, PromptTokens: 1000, Cost: 20000})
	m.ObserveUpstreamError("openai", "gpt-4o-mini", "rate_limited")
	m.ObserveUpstreamError("openai", "gpt-4o-mini", "rate_limited")

	want := `# HELP octomesh_requests_total Requests handled, by API route, model, provider, HTTP status code, error code (empty on success) and whether the response was streamed.
# TYPE octomesh_requests_total counter
octomesh_requests_total{route="chat",model="gpt-4o-mini",provider="openai",code="200",error_code="",stream="false"} 2
octomesh_requests_total{route="chat",model="gpt-4o-mini",provider="openai",code="200",error_code="",stream="true"} 1
octomesh_requests_total{route="embeddings",model="text-embedding-3-small",provider="openai",code="200",error_code="",stream="false"} 1
octomesh_requests_total{route="messages",model="claude-sonnet",provider="anthropic",code="503",error_code="overloaded",stream="false"} 1
# HELP octomesh_request_duration_seconds Request latency from arrival to the last byte of the response, in seconds.
# TYPE octomesh_request_duration_seconds histogram
octomesh_request_duration_seconds_bucket{route="chat",model="gpt-4o-mini",provider="openai",le="0.1"} 1
octomesh_request_duration_seconds_bucket{route="chat",model="gpt-4o-mini",provider="openai",le="1"} 2
octomesh_request_duration_seconds_bucket{route="chat",model="gpt-4o-mini",provider="openai",le="10"} 3
octomesh_request_duration_seconds_bucket{route="chat",model="gpt-4o-mini",provider="openai",le="+Inf"} 3
octomesh_request_duration_seconds_sum{route="chat",model="gpt-4o-mini",provider="openai"} 1.72
octomesh_request_duration_seconds_count{route="chat",model="gpt-4o-mini",provider="openai"} 3
octomesh_request_duration_seconds_bucket{route="embeddings",model="text-embedding-3-small",provider="openai",le="0.1"} 1
octomesh_request_duration_seconds_bucket{route="embeddings",model="text-embedding-3-small",provider="openai",le="1"} 1
octomesh_request_duration_seconds_bucket{route="embeddings",model="text-embedding-3-small",provider="openai",le="10"} 1
octomesh_request_duration_seconds_bucket{route="embeddings",model="text-embedding-3-small",provider="openai",le="+Inf"} 1
octomesh_request_duration_seconds_sum{route="embeddings",model="text-embedding-3-small",provider="openai"} 0.04
octomesh_request_duration_seconds_count{route="embeddings",model="text-embedding-3-small",provider="openai"} 1
octomesh_request_duration_seconds_bucket{route="messages",model="claude-sonnet",provider="anthropic",le="0.1"} 0
octomesh_request_duration_seconds_bucket{route="messages",model="claude-sonnet",provider="anthropic",le="1"} 0
octomesh_request_duration_seconds_bucket{route="messages",model="claude-sonnet",provider="anthropic",le="10"} 1
octomesh_request_duration_seconds_bucket{route="messages",model="claude-sonnet",provider="anthropic",le="+Inf"} 1
octomesh_request_duration_seconds_sum{route="messages",model="claude-sonnet",provider="anthropic"} 2
octomesh_request_duration_seconds_count{route="messages",model="claude-sonnet",provider="anthropic"} 1
# HELP octomesh_ttft_seconds Time to the first token of streamed responses, in seconds.
# TYPE octomesh_ttft_seconds histogram
octomesh_ttft_seconds_bucket{model="gpt-4o-mini",provider="openai",le="0.25"} 0
octomesh_ttft_seconds_bucket{model="gpt-4o-mini",provider="openai",le="1"} 1
octomesh_ttft_seconds_bucket{model="gpt-4o-mini",provider="openai",le="+Inf"} 1
octomesh_ttft_seconds_sum{model="gpt-4o-mini",provider="openai"} 0.3
octomesh_ttft_seconds_count{model="gpt-4o-mini",provider="openai"} 1
# HELP octomesh_tokens_total Tokens processed, by kind: prompt or completion.
# TYPE octomesh_tokens_total counter
octomesh_tokens_total{model="claude-sonnet",provider="anthropic",kind="prompt"} 0
octomesh_tokens_total{model="claude-sonnet",provider="anthropic",kind="completion"} 0
octomesh_tokens_total{model="gpt-4o-mini",provider="openai",kind="prompt"} 31
octomesh_tokens_total{model="gpt-4o-mini",provider="openai",kind="completion"} 46
octomesh_tokens_total{model="text-embedding-3-small",provider="openai",kind="prompt"} 1000
octomesh_tokens_total{model="text-embedding-3-small",provider="openai",kind="completion"} 0
# HELP octomesh_cost_usd_total Cost of requests in US dollars, exact to the nano-dollar.
# TYPE octomesh_cost_usd_total counter
octomesh_cost_usd_total{model="claude-sonnet",provider="anthropic"} 0
octomesh_cost_usd_total{model="gpt-4o-mini",provider="openai"} 0.00003225
octomesh_cost_usd_total{model="text-embedding-3-small",provider="openai"} 0.00002
# HELP octomesh_upstream_errors_total Failed upstream provider attempts, by normalised error code.
# TYPE octomesh_upstream_errors_total counter
octomesh_upstream_errors_total{provider="anthropic",model="claude-sonnet",code="overloaded"} 1
octomesh_upstream_errors_total{provider="openai",model="gpt-4o-mini",code="rate_limited"} 2
# HELP octomesh_inflight_requests Requests being handled now.
# TYPE octomesh_inflight_requests gauge
octomesh_inflight_requests 1
`
	if diff := cmp.Diff(want, scrape(t, m)); diff != "" {
		t.Errorf("exposition mismatch (-want +got):\n%s", diff)
	}
}

func TestExpositionEmpty(t *testing.T) {
	got := scrape(t, NewMetrics())
	for _, name := range []string{nameRequests, nameDuration, nameTTFT, nameTokens, nameCost, nameUpstreamErrors, nameInflight} {
		if !strings.Contains(got, "# TYPE "+name+" ") {
			t.Errorf("empty exposition lacks the TYPE of %s", name)
		}
	}
	if !strings.HasSuffix(got, "\noctomesh_inflight_requests 0\n") {
		t.Errorf("empty exposition does not end with the inflight gauge:\n%s", got)
	}
}

// parseSamples parses exposition text into a map from "name{labels}" to value,
// checking every line's syntax on the way.
func parseSamples(t *testing.T, text string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("malformed sample line %q", line)
		}
		if _, err := strconv.ParseFloat(line[i+1:], 64); err != nil {
			t.Fatalf("sample %q has a non-float value: %v", line, err)
		}
		out[line[:i]] = line[i+1:]
	}
	return out
}

func TestHistogramBuckets(t *testing.T) {
	m := NewMetrics()
	latencies := []time.Duration{0, 5 * ms, 10 * ms, 11 * ms, 250 * ms, 999 * ms, time.Second, 3 * time.Second, 10 * time.Minute, time.Hour, -time.Second}
	var sum time.Duration
	for _, d := range latencies {
		m.ObserveRequest(RequestObservation{Route: "chat", Model: "m", Provider: "p", Status: 200, Latency: d})
		if d > 0 {
			sum += d
		}
	}
	got := parseSamples(t, scrape(t, m))
	bucket := func(le string) string {
		return got[`octomesh_request_duration_seconds_bucket{route="chat",model="m",provider="p",le="`+le+`"}`]
	}
	// Cumulative counts at each bound, by hand: 0, 5ms, 10ms and -1s (as 0) are ≤ 10ms.
	wantBuckets := map[string]string{
		"0.01": "4", "0.025": "5", "0.05": "5", "0.1": "5", "0.25": "6", "0.5": "6", "1": "8",
		"2.5": "8", "5": "9", "10": "9", "20": "9", "30": "9", "60": "9", "120": "9", "300": "9", "600": "10", "+Inf": "11",
	}
	if len(durationBuckets)+1 != len(wantBuckets) {
		t.Fatalf("test covers %d buckets, metrics have %d", len(wantBuckets), len(durationBuckets)+1)
	}
	for le, want := range wantBuckets {
		if g := bucket(le); g != want {
			t.Errorf("bucket le=%s = %q, want %s", le, g, want)
		}
	}
	if g, want := got[`octomesh_request_duration_seconds_count{route="chat",model="m",provider="p"}`], "11"; g != want {
		t.Errorf("_count = %s, want %s", g, want)
	}
	if g, want := got[`octomesh_request_duration_seconds_sum{route="chat",model="m",provider="p"}`], formatDecimal(uint64(sum), 9); g != want {
		t.Errorf("_sum = %s, want %s", g, want)
	}
	// Non-streaming requests leave the TTFT histogram empty, so it is not written.
	for k := range got {
		if strings.HasPrefix(k, nameTTFT) {
			t.Errorf("unexpected TTFT sample %s for non-streaming requests", k)
		}
	}
}

func TestHistogramBucketsAreCumulativeAndMonotonic(t *testing.T) {
	h := newHistogram(ttftBuckets)
	for i := 0; i < 5000; i++ {
		h.observe(time.Duration(i*i) * time.Microsecond) // 0 .. 25s, skewed
	}
	cum, _ := h.read()
	for i := 1; i < len(cum); i++ {
		if cum[i] < cum[i-1] {
			t.Fatalf("bucket %d = %d < bucket %d = %d", i, cum[i], i-1, cum[i-1])
		}
	}
	for i, b := range ttftBuckets {
		// Count by brute force how many observations are ≤ b.
		var want uint64
		for j := 0; j < 5000; j++ {
			if time.Duration(j*j)*time.Microsecond <= b {
				want++
			}
		}
		if cum[i] != want {
			t.Errorf("le=%v: %d, want %d", b, cum[i], want)
		}
	}
	if cum[len(cum)-1] != 5000 {
		t.Errorf("+Inf = %d, want 5000", cum[len(cum)-1])
	}
}

func TestLabelEscaping(t *testing.T) {
	m := newMetrics([]time.Duration{time.Second}, []time.Duration{time.Second}, DefaultSeriesLimit)
	m.ObserveUpstreamError(`pro"vider`, "back\\slash\nnew", "x")
	got := scrape(t, m)
	want := `octomesh_upstream_errors_total{provider="pro\"vider",model="back\\slash\nnew",code="x"} 1` + "\n"
	if !strings.Contains(got, want) {
		t.Errorf("escaped sample missing; want line\n%s\nin\n%s", want, got)
	}
	if got, want := escapeLabelValue("a\\b\"c\nd"), `a\\b\"c\nd`; got != want {
		t.Errorf("escapeLabelValue = %q, want %q", got, want)
	}
	if got, want := escapeHelp("a\\b\"c\nd"), `a\\b"c\nd`; got != want {
		t.Errorf("escapeHelp = %q, want %q", got, want)
	}
}

func TestInvalidLabelValuesFold(t *testing.T) {
	m := NewMetrics()
	long := strings.Repeat("x", maxLabelLen+1)
	m.ObserveRequest(RequestObservation{Route: "chat", Model: long, Provider: "p", Status: 200})
	m.ObserveRequest(RequestObservation{Route: "chat", Model: "bad\xffutf8", Provider: "p", Status: 999})
	got := parseSamples(t, scrape(t, m))
	if g := got[`octomesh_requests_total{route="chat",model="other",provider="p",code="200",error_code="",stream="false"}`]; g != "1" {
		t.Errorf("over-long model not folded to other: %v", got)
	}
	if g := got[`octomesh_requests_total{route="chat",model="other",provider="p",code="0",error_code="",stream="false"}`]; g != "1" {
		t.Errorf("invalid UTF-8 model / bad status not folded: %v", got)
	}
}

func TestCardinalityLimit(t *testing.T) {
	const limit = 10
	m := newMetrics(durationBuckets, ttftBuckets, limit)
	// The first `limit` models keep their names; the next `limit` label sets
	// fold into model="other" (one set, since only the model varies), and
	// the existing sets keep counting.
	for i := 0; i < 5*limit; i++ {
		m.ObserveRequest(RequestObservation{Route: "chat", Model: fmt.Sprintf("m%02d", i), Provider: "p", Status: 200, PromptTokens: 1})
		m.ObserveUpstreamError("p", fmt.Sprintf("m%02d", i), "timeout")
	}
	m.ObserveRequest(RequestObservation{Route: "chat", Model: "m00", Provider: "p", Status: 200, PromptTokens: 1})
	got := parseSamples(t, scrape(t, m))
	if g := got[`octomesh_requests_total{route="chat",model="m00",provider="p",code="200",error_code="",stream="false"}`]; g != "2" {
		t.Errorf("existing series m00 = %q, want 2", g)
	}
	if g := got[`octomesh_requests_total{route="chat",model="m09",provider="p",code="200",error_code="",stream="false"}`]; g != "1" {
		t.Errorf("series m09 (the limit-th) = %q, want 1", g)
	}
	if _, ok := got[`octomesh_requests_total{route="chat",model="m10",provider="p",code="200",error_code="",stream="false"}`]; ok {
		t.Errorf("series m10 exists past the limit")
	}
	if g := got[`octomesh_requests_total{route="chat",model="other",provider="p",code="200",error_code="",stream="false"}`]; g != "40" {
		t.Errorf("folded series = %q, want 40", g)
	}
	if g := got[`octomesh_tokens_total{model="other",provider="p",kind="prompt"}`]; g != "40" {
		t.Errorf("folded tokens = %q, want 40", g)
	}
	if g := got[`octomesh_upstream_errors_total{provider="p",model="other",code="timeout"}`]; g != "40" {
		t.Errorf("folded upstream errors = %q, want 40", g)
	}

	// Past twice the limit, every new label set lands in one overflow series.
	for i := 0; i < 3*limit; i++ {
		m.ObserveRequest(RequestObservation{Route: fmt.Sprintf("r%d", i), Model: "x", Provider: fmt.Sprintf("p%d", i), Status: 200})
	}
	n := len(m.requests.snapshot())
	if n > 2*limit+1 {
		t.Errorf("%d request series, want at most %d", n, 2*limit+1)
	}
	got = parseSamples(t, scrape(t, m))
	if g := got[`octomesh_requests_total{route="other",model="other",provider="other",code="200",error_code="",stream="false"}`]; g == "" {
		t.Errorf("no overflow series after exceeding twice the limit")
	}
}

func TestConcurrentObservationsExactTotals(t *testing.T) {
	m := NewMetrics()
	const workers, perWorker = 8, 2000
	models := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	scraped := make(chan error, 1)
	go func() { // scrape concurrently, as Prometheus would
		defer close(scraped)
		for {
			select {
			case <-stop:
				return
			default:
				if _, err := m.WriteTo(io.Discard); err != nil {
					scraped <- err
					return
				}
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				m.IncInflight()
				model, errCode := models[i%len(models)], ""
				if i%10 == 0 {
					errCode = "timeout"
					m.ObserveUpstreamError("p", model, errCode)
				}
				m.ObserveRequest(RequestObservation{
					Route: "chat", Model: model, Provider: "p", Status: 200 + (i%2)*300, Stream: i%4 == 0,
					Latency: time.Duration(i%1000) * ms, TTFT: 50 * ms, PromptTokens: 3, CompletionTokens: 7,
					Cost: octomesh.Money(11), UpstreamErrorCode: errCode,
				})
				m.DecInflight()
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	if err := <-scraped; err != nil {
		t.Fatal(err)
	}

	got := parseSamples(t, scrape(t, m))
	var requests, failed, durCount, ttftCount, prompt, completion, errs int
	var cost float64
	for k, v := range got {
		n, _ := strconv.Atoi(v)
		switch {
		case strings.HasPrefix(k, nameRequests+"{"):
			requests += n
			if strings.Contains(k, `error_code="timeout"`) {
				failed += n
			}
		case strings.HasPrefix(k, nameDuration+"_count"):
			durCount += n
		case strings.HasPrefix(k, nameTTFT+"_count"):
			ttftCount += n
		case strings.HasPrefix(k, nameTokens) && strings.Contains(k, `kind="prompt"`):
			prompt += n
		case strings.HasPrefix(k, nameTokens) && strings.Contains(k, `kind="completion"`):
			completion += n
		case strings.HasPrefix(k, nameUpstreamErrors):
			errs += n
		case strings.HasPrefix(k, nameCost):
			f, _ := strconv.ParseFloat(v, 64)
			cost += f
		}
	}
	total := workers * perWorker
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"requests", requests, total},
		{"failed requests", failed, total / 10},
		{"duration count", durCount, total},
		{"ttft count", ttftCount, total / 4},
		{"prompt tokens", prompt, 3 * total},
		{"completion tokens", completion, 7 * total},
		{"upstream errors", errs, total / 10},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if want := float64(11*total) / 1e9; fmt.Sprintf("%.9f", cost) != fmt.Sprintf("%.9f", want) {
		t.Errorf("cost = %.9f, want %.9f", cost, want)
	}
	if g := m.Inflight(); g != 0 {
		t.Errorf("inflight = %d, want 0", g)
	}
}

func TestObserveRequestDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := NewMetrics()
	r := RequestObservation{Route: "chat", Model: "gpt-4o-mini", Provider: "openai", Status: 200, Stream: true,
		Latency: 800 * ms, TTFT: 120 * ms, PromptTokens: 100, CompletionTokens: 50, Cost: 45_000, UpstreamErrorCode: "timeout"}
	m.ObserveRequest(r) // first use creates the series
	if n := testing.AllocsPerRun(1000, func() { m.ObserveRequest(r) }); n != 0 {
		t.Errorf("ObserveRequest allocates %v times per call, want 0", n)
	}
}

func TestHandler(t *testing.T) {
	m := NewMetrics()
	m.ObserveRequest(RequestObservation{Route: "chat", Model: "m", Provider: "p", Status: 200})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET status = %d, want 200", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if !strings.Contains(string(body), `octomesh_requests_total{route="chat",model="m",provider="p",code="200",error_code="",stream="false"} 1`) {
		t.Errorf("body lacks the request sample:\n%s", body)
	}

	resp, err = http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST = %d Allow %q, want 405 with Allow: GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestWriteToReportsErrors(t *testing.T) {
	m := NewMetrics()
	m.ObserveRequest(RequestObservation{Route: "chat", Model: "m", Provider: "p", Status: 200})
	n, err := m.WriteTo(&failingWriter{after: 100})
	if err == nil || n != 100 {
		t.Errorf("WriteTo = %d, %v; want 100 bytes and an error", n, err)
	}
}

func TestFormatDecimal(t *testing.T) {
	tests := []struct {
		n     uint64
		scale int
		want  string
	}{
		{0, 9, "0"}, {1, 9, "0.000000001"}, {1_500_000_000, 9, "1.5"}, {25_000_000, 9, "0.025"},
		{60_000_000_000, 9, "60"}, {1720000, 6, "1.72"}, {123, 0, "123"}, {18446744073709551615, 9, "18446744073.709551615"},
	}
	for _, tt := range tests {
		if got := formatDecimal(tt.n, tt.scale); got != tt.want {
			t.Errorf("formatDecimal(%d, %d) = %q, want %q", tt.n, tt.scale, got, tt.want)
		}
	}
}

func BenchmarkObserveRequest(b *testing.B) {
	m := NewMetrics()
	r := RequestObservation{Route: "chat", Model: "gpt-4o-mini", Provider: "openai", Status: 200, Stream: true,
		Latency: 800 * ms, TTFT: 120 * ms, PromptTokens: 100, CompletionTokens: 50, Cost: 45_000}
	m.ObserveRequest(r)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest(r)
		}
	})
}

func BenchmarkWriteTo(b *testing.B) {
	m := NewMetrics()
	for i := 0; i < 100; i++ {
		m.ObserveRequest(RequestObservation{Route: "chat", Model: fmt.Sprintf("model-%d", i), Provider: "p", Status: 200, Stream: true, TTFT: ms, Latency: ms})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRuntimeGauges(t *testing.T) {
	reg := NewMetrics()
	reg.RegisterRuntime()
	var b strings.Builder
	if _, err := reg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, name := range []string{"go_goroutines", "go_heap_objects_bytes", "go_stacks_bytes", "go_memory_total_bytes", "go_heap_free_bytes", "go_heap_unused_bytes", "go_heap_released_bytes", "go_gc_cycles_total", "go_heap_allocs_objects_total", "go_heap_allocs_bytes_total",
		"process_resident_memory_bytes", "process_resident_anon_bytes", "process_resident_file_bytes", "process_resident_shmem_bytes"} {
		if strings.HasPrefix(name, "process_") && runtime.GOOS != "linux" {
			continue
		}
		re := regexp.MustCompile(`(?m)^` + name + ` ([0-9]+)$`)
		m := re.FindStringSubmatch(out)
		// Cycles, free and released heap may well be none yet.
		mayBeZero := name == "go_gc_cycles_total" || name == "go_heap_free_bytes" || name == "go_heap_released_bytes" || name == "process_resident_shmem_bytes"
		if m == nil || m[1] == "0" && !mayBeZero {
			t.Errorf("%s missing or zero in:\n%s", name, out)
		}
	}
}
