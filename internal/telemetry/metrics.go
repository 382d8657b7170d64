// Package telemetry records OctoMesh's operational metrics and exposes them
// in the Prometheus text exposition format (version 0.0.4), without a
// Prometheus client dependency.
//
// Lifecycle: cmd/octomesh creates one *Metrics with NewMetrics, hands it to
// the gateway, which calls ObserveRequest once per finished request (for a
// stream, when it ends), ObserveUpstreamError for each failed upstream
// attempt (whether it ended the request or was retried or failed over), and
// IncInflight/DecInflight around each request; the HTTP layer serves Handler
// at GET /metrics.
//
// The observation path is built for the gateway's hot path: after a label
// set's first use, an observation is one lock-free map lookup (the series map
// is copy-on-write behind an atomic pointer) and a few atomic adds — no
// allocation and no lock. Only the first observation of a new label set takes
// a mutex and copies the map (as does every observation of a label set that
// was folded away, since folded sets are not stored under their own labels).
//
// Labels carry only identifiers — route, model, provider, status and error
// codes — never request content. Cardinality is bounded: past a limit of
// distinct label sets (1000 per family), new sets are folded into
// model="other", and past twice the limit into overflow sets with every
// free-form label (route, model, provider, error code) "other".
package telemetry

import (
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
)

// DefaultSeriesLimit is the number of distinct label sets per metric family
// past which new ones are folded into model="other".
const DefaultSeriesLimit = 1000

// other is the label value label sets are folded into.
const other = "other"

// Default histogram buckets (upper bounds, inclusive). LLM requests range
// from tens of milliseconds (a cached embedding) to many minutes (a long
// reasoning stream).
var (
	durationBuckets = []time.Duration{
		10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
		250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
		5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	}
	ttftBuckets = []time.Duration{
		10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
		200 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond,
		time.Second, 1500 * time.Millisecond, 2 * time.Second, 3 * time.Second,
		5 * time.Second, 10 * time.Second, 30 * time.Second,
	}
)

// RequestObservation describes one finished request.
type RequestObservation struct {
	Route            string        // the API route: "chat", "messages", "embeddings", …
	Model            string        // the public model name that served (or was asked for)
	Provider         string        // the provider instance that served
	Status           int           // the HTTP status returned to the client
	Stream           bool          // whether the response was streamed
	Latency          time.Duration // from request start to the last byte
	TTFT             time.Duration // time to first token; 0 when not streaming or none came
	PromptTokens     int
	CompletionTokens int
	Cost             octomesh.Money // what the request cost; negative amounts are ignored
	// UpstreamErrorCode is the error code the request ended with (an
	// octomesh.ErrorCode such as "rate_limited"), "" if it succeeded. It is
	// the error_code label of octomesh_requests_total; upstream attempts are
	// counted separately, by ObserveUpstreamError.
	UpstreamErrorCode string
}

// Metrics holds OctoMesh's metrics. It is safe for concurrent use.
type Metrics struct {
	limit  int
	durBkt []time.Duration
	ttBkt  []time.Duration

	requests seriesMap[requestKey, *requestSeries]
	errors   seriesMap[errorKey, *atomic.Uint64]
	inflight atomic.Int64
	extra    extras

	// The series request series share, by their labels. Only touched while
	// creating a request series, which holds the requests map's lock.
	durations map[routeKey]*histogram
	models    map[modelKey]*modelSeries
}

type requestKey struct {
	route, model, provider string
	code                   int
	errCode                string
	stream                 bool
}

type routeKey struct{ route, model, provider string }

type modelKey struct{ model, provider string }

type errorKey struct{ provider, model, code string }

// requestSeries is everything one request observation updates.
type requestSeries struct {
	count atomic.Uint64
	dur   *histogram   // shared by every status/stream of the route, model and provider
	model *modelSeries // shared by every route of the model and provider
}

// modelSeries are the per-(model, provider) series.
type modelSeries struct {
	ttft       *histogram
	prompt     atomic.Uint64
	completion atomic.Uint64
	costNanos  atomic.Uint64
}

// NewMetrics returns empty metrics with the default buckets and series limit.
func NewMetrics() *Metrics {
	return newMetrics(durationBuckets, ttftBuckets, DefaultSeriesLimit)
}

func newMetrics(dur, ttft []time.Duration, limit int) *Metrics {
	m := &Metrics{
		limit:     limit,
		durBkt:    dur,
		ttBkt:     ttft,
		durations: make(map[routeKey]*histogram),
		models:    make(map[modelKey]*modelSeries),
	}
	m.requests.init()
	m.errors.init()
	return m
}

// ObserveRequest records one finished request: its count (by status and
// error code), latency, TTFT (for streams), tokens and cost.
func (m *Metrics) ObserveRequest(r RequestObservation) {
	k := requestKey{route: r.Route, model: r.Model, provider: r.Provider, code: r.Status, errCode: r.UpstreamErrorCode, stream: r.Stream}
	s, ok := m.requests.get(k)
	if !ok {
		s = m.newRequestSeries(k)
	}
	s.count.Add(1)
	s.dur.observe(r.Latency)
	ms := s.model
	if r.Stream && r.TTFT > 0 {
		ms.ttft.observe(r.TTFT)
	}
	if r.PromptTokens > 0 {
		ms.prompt.Add(uint64(r.PromptTokens))
	}
	if r.CompletionTokens > 0 {
		ms.completion.Add(uint64(r.CompletionTokens))
	}
	if r.Cost > 0 {
		ms.costNanos.Add(uint64(r.Cost))
	}
}

// ObserveUpstreamError counts one failed upstream attempt: every one,
// whether it ended its request or was retried, failed over or hedged. code
// is the normalised octomesh.ErrorCode.
func (m *Metrics) ObserveUpstreamError(provider, model, code string) {
	k := errorKey{provider: provider, model: model, code: code}
	c, ok := m.errors.get(k)
	if !ok {
		c = m.errors.create(k, m.limit, foldErrorKey, func(errorKey) *atomic.Uint64 { return new(atomic.Uint64) })
	}
	c.Add(1)
}

// IncInflight counts a request as started.
func (m *Metrics) IncInflight() { m.inflight.Add(1) }

// DecInflight counts a request as finished.
func (m *Metrics) DecInflight() { m.inflight.Add(-1) }

// Inflight returns the number of requests in flight.
func (m *Metrics) Inflight() int64 { return m.inflight.Load() }

// newRequestSeries is the slow path of ObserveRequest: it creates (or, after
// a race or a fold, finds) the series for k.
func (m *Metrics) newRequestSeries(k requestKey) *requestSeries {
	return m.requests.create(k, m.limit, foldRequestKey, func(k requestKey) *requestSeries {
		rk := routeKey{k.route, k.model, k.provider}
		dur, ok := m.durations[rk]
		if !ok {
			dur = newHistogram(m.durBkt)
			m.durations[rk] = dur
		}
		mk := modelKey{k.model, k.provider}
		ms, ok := m.models[mk]
		if !ok {
			ms = &modelSeries{ttft: newHistogram(m.ttBkt)}
			m.models[mk] = ms
		}
		return &requestSeries{dur: dur, model: ms}
	})
}

// foldRequestKey sanitises a new request key's label values and folds it to
// the given level (see seriesMap.create).
func foldRequestKey(k requestKey, level int) requestKey {
	k.route, k.model, k.provider = labelValue(k.route), labelValue(k.model), labelValue(k.provider)
	k.errCode = labelValue(k.errCode)
	if k.code < 100 || k.code > 599 {
		k.code = 0
	}
	switch level {
	case foldModel:
		k.model = other
	case foldAll:
		k.route, k.model, k.provider = other, other, other
		if k.errCode != "" {
			k.errCode = other
		}
	}
	return k
}

// foldErrorKey is foldRequestKey for upstream error keys.
func foldErrorKey(k errorKey, level int) errorKey {
	k.provider, k.model, k.code = labelValue(k.provider), labelValue(k.model), labelValue(k.code)
	switch level {
	case foldModel:
		k.model = other
	case foldAll:
		k.provider, k.model, k.code = other, other, other
	}
	return k
}
