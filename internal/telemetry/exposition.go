package telemetry

import (
	"bufio"
	"cmp"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ContentType is the media type of the Prometheus text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Metric names.
const (
	nameRequests       = "octomesh_requests_total"
	nameDuration       = "octomesh_request_duration_seconds"
	nameTTFT           = "octomesh_ttft_seconds"
	nameTokens         = "octomesh_tokens_total"
	nameCost           = "octomesh_cost_usd_total"
	nameUpstreamErrors = "octomesh_upstream_errors_total"
	nameInflight       = "octomesh_inflight_requests"
)

// Handler serves the metrics for GET and HEAD (conventionally at /metrics).
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodHead {
			return
		}
		// A failed write means the scraper went away; there is no one to tell.
		_, _ = m.WriteTo(w)
	})
}

// WriteTo writes every metric in the Prometheus text format 0.0.4, families
// in a fixed order and series sorted by their labels, so the output is
// deterministic. It returns the bytes written and the first write error.
// It may run concurrently with observations; each counter is read atomically,
// but a scrape is not a snapshot across counters.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	e := &encoder{w: bufio.NewWriterSize(cw, 32<<10)}

	reqs := m.requests.snapshot()
	reqKeys := sortedKeys(reqs, compareRequestKeys)
	durations := make(map[routeKey]*histogram)
	models := make(map[modelKey]*modelSeries)
	for k, s := range reqs {
		durations[routeKey{k.route, k.model, k.provider}] = s.dur
		models[modelKey{k.model, k.provider}] = s.model
	}

	e.header(nameRequests, "counter", "Requests handled, by API route, model, provider, HTTP status code, error code (empty on success) and whether the response was streamed.")
	for _, k := range reqKeys {
		e.sample(nameRequests, "", []string{
			"route", k.route, "model", k.model, "provider", k.provider,
			"code", strconv.Itoa(k.code), "error_code", k.errCode, "stream", strconv.FormatBool(k.stream),
		}, "", strconv.FormatUint(reqs[k].count.Load(), 10))
	}

	e.header(nameDuration, "histogram", "Request latency from arrival to the last byte of the response, in seconds.")
	for _, k := range sortedKeys(durations, compareRouteKeys) {
		e.histogram(nameDuration, []string{"route", k.route, "model", k.model, "provider", k.provider}, durations[k])
	}

	modelKeys := sortedKeys(models, compareModelKeys)
	e.header(nameTTFT, "histogram", "Time to the first token of streamed responses, in seconds.")
	for _, k := range modelKeys {
		if h := models[k].ttft; h.total() > 0 {
			e.histogram(nameTTFT, []string{"model", k.model, "provider", k.provider}, h)
		}
	}

	e.header(nameTokens, "counter", "Tokens processed, by kind: prompt or completion.")
	for _, k := range modelKeys {
		s := models[k]
		e.sample(nameTokens, "", []string{"model", k.model, "provider", k.provider, "kind", "prompt"}, "", strconv.FormatUint(s.prompt.Load(), 10))
		e.sample(nameTokens, "", []string{"model", k.model, "provider", k.provider, "kind", "completion"}, "", strconv.FormatUint(s.completion.Load(), 10))
	}

	e.header(nameCost, "counter", "Cost of requests in US dollars, exact to the nano-dollar.")
	for _, k := range modelKeys {
		e.sample(nameCost, "", []string{"model", k.model, "provider", k.provider}, "", formatDecimal(models[k].costNanos.Load(), 9))
	}

	errs := m.errors.snapshot()
	e.header(nameUpstreamErrors, "counter", "Failed upstream provider attempts, by normalised error code.")
	for _, k := range sortedKeys(errs, compareErrorKeys) {
		e.sample(nameUpstreamErrors, "", []string{"provider", k.provider, "model", k.model, "code", k.code}, "", strconv.FormatUint(errs[k].Load(), 10))
	}

	e.header(nameInflight, "gauge", "Requests being handled now.")
	e.sample(nameInflight, "", nil, "", strconv.FormatInt(m.inflight.Load(), 10))
	m.writeExtras(e)

	if err := e.w.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// encoder writes the text format. Write errors stick in the bufio.Writer and
// surface at Flush.
type encoder struct {
	w *bufio.Writer
}

func (e *encoder) header(name, typ, help string) {
	e.w.WriteString("# HELP ")
	e.w.WriteString(name)
	e.w.WriteByte(' ')
	e.w.WriteString(escapeHelp(help))
	e.w.WriteString("\n# TYPE ")
	e.w.WriteString(name)
	e.w.WriteByte(' ')
	e.w.WriteString(typ)
	e.w.WriteByte('\n')
}

// sample writes one line: name+suffix{labels,le="…"} value. labels are
// name, value pairs; le is appended when not "".
func (e *encoder) sample(name, suffix string, labels []string, le, value string) {
	e.w.WriteString(name)
	e.w.WriteString(suffix)
	if len(labels) > 0 || le != "" {
		e.w.WriteByte('{')
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				e.w.WriteByte(',')
			}
			e.label(labels[i], labels[i+1])
		}
		if le != "" {
			if len(labels) > 0 {
				e.w.WriteByte(',')
			}
			e.label("le", le)
		}
		e.w.WriteByte('}')
	}
	e.w.WriteByte(' ')
	e.w.WriteString(value)
	e.w.WriteByte('\n')
}

func (e *encoder) label(name, value string) {
	e.w.WriteString(name)
	e.w.WriteString(`="`)
	e.w.WriteString(escapeLabelValue(value))
	e.w.WriteByte('"')
}

// histogram writes the cumulative buckets, _sum and _count of h.
func (e *encoder) histogram(name string, labels []string, h *histogram) {
	cum, sumMicros := h.read()
	for i, b := range h.bounds {
		e.sample(name, "_bucket", labels, formatDecimal(uint64(b), 9), strconv.FormatUint(cum[i], 10))
	}
	total := cum[len(cum)-1]
	e.sample(name, "_bucket", labels, "+Inf", strconv.FormatUint(total, 10))
	e.sample(name, "_sum", labels, "", formatDecimal(sumMicros, 6))
	e.sample(name, "_count", labels, "", strconv.FormatUint(total, 10))
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// escapeLabelValue escapes a label value as the text format requires:
// backslash, double quote and line feed.
func escapeLabelValue(s string) string { return labelEscaper.Replace(s) }

// escapeHelp escapes HELP text: backslash and line feed.
func escapeHelp(s string) string { return helpEscaper.Replace(s) }

// formatDecimal formats n / 10^scale exactly, without trailing zeros:
// formatDecimal(1500, 3) = "1.5", formatDecimal(25, 3) = "0.025",
// formatDecimal(60000, 3) = "60".
func formatDecimal(n uint64, scale int) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	whole, frac := s[:len(s)-scale], strings.TrimRight(s[len(s)-scale:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

func sortedKeys[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}

func compareRequestKeys(a, b requestKey) int {
	return cmp.Or(
		cmp.Compare(a.route, b.route),
		cmp.Compare(a.model, b.model),
		cmp.Compare(a.provider, b.provider),
		cmp.Compare(a.code, b.code),
		cmp.Compare(a.errCode, b.errCode),
		compareBool(a.stream, b.stream),
	)
}

func compareRouteKeys(a, b routeKey) int {
	return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.model, b.model), cmp.Compare(a.provider, b.provider))
}

func compareModelKeys(a, b modelKey) int {
	return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.provider, b.provider))
}

func compareErrorKeys(a, b errorKey) int {
	return cmp.Or(cmp.Compare(a.provider, b.provider), cmp.Compare(a.model, b.model), cmp.Compare(a.code, b.code))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
