package gateway

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router"
)

// decisionSource makes realistic decisions the way a request does: the
// real router's Decide (so each Decision sits in the router's plan
// allocation, as in production), then what routerPlan and the executor add:
// request id, org, time, attempt records and the outcome.
type decisionSource struct {
	name string
	rt   *router.Router
	req  *octomesh.ChatRequest
	opts octomesh.RouteOptions
	now  time.Time
}

// decisionSources are the two shapes measured: "named" is the load
// benchmark's (bench/harness: a request naming one of two deployments),
// "auto" a request that lets the router choose among eight deployments of
// three providers, two of them excluded (no tools, region).
func decisionSources(tb testing.TB) []*decisionSource {
	tb.Helper()
	price := func(in, out string) octomesh.Price {
		pi, err := octomesh.ParseMoney(in)
		if err != nil {
			tb.Fatal(err)
		}
		po, err := octomesh.ParseMoney(out)
		if err != nil {
			tb.Fatal(err)
		}
		return octomesh.Price{InputPerMTok: pi, OutputPerMTok: po}
	}
	compliant := octomesh.DataPolicy{RetainsPrompts: octomesh.No, TrainsOnData: octomesh.No}
	named := []octomesh.Deployment{
		{Name: "gpt-4o-mini", Provider: "mock", UpstreamModel: "gpt-4o-mini", ContextWindow: 128_000, MaxOutputTokens: 16_384,
			Capabilities: octomesh.Capabilities{Tools: true, JSONSchema: true, Streaming: true}, Price: price("0.15", "0.60")},
		{Name: "claude-haiku", Provider: "mock-anthropic", UpstreamModel: "claude-haiku-4-5", ContextWindow: 200_000, MaxOutputTokens: 64_000,
			Capabilities: octomesh.Capabilities{Tools: true, JSONSchema: true, Streaming: true}, Price: price("1.00", "5.00")},
	}
	var auto []octomesh.Deployment
	provs := []string{"openai", "anthropic", "google"}
	for i := range 8 {
		d := octomesh.Deployment{Name: fmt.Sprintf("%s/model-%d", provs[i%3], i), Provider: provs[i%3], UpstreamModel: fmt.Sprintf("model-%d", i),
			ContextWindow: 128_000, MaxOutputTokens: 16_000, Capabilities: allCaps, Region: "us", DataPolicy: compliant,
			Price: price(fmt.Sprintf("0.%d", i+1), strconv.Itoa(i+1))}
		switch i {
		case 3:
			d.Capabilities.Tools = false
		case 6:
			d.Region = "eu"
		}
		auto = append(auto, d)
	}
	tools := []octomesh.Tool{{Type: "function", Function: octomesh.FunctionDef{Name: "lookup"}}}
	mk := func(name string, deps []octomesh.Deployment, req *octomesh.ChatRequest, opts octomesh.RouteOptions) *decisionSource {
		rt, err := router.New(router.Config{Deployments: deps, Rand: func() float64 { return 0.5 }})
		if err != nil {
			tb.Fatal(err)
		}
		return &decisionSource{name: name, rt: rt, req: req, opts: opts, now: time.Now()}
	}
	msgs := []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("Summarise the plot of Hamlet in three sentences.")}}
	return []*decisionSource{
		mk("named", named, &octomesh.ChatRequest{Model: "gpt-4o-mini", Messages: msgs}, octomesh.RouteOptions{}),
		mk("auto", auto, &octomesh.ChatRequest{Model: router.AutoModel, Messages: msgs, Tools: tools},
			octomesh.RouteOptions{Objective: octomesh.ObjectiveQuality, Regions: []string{"us"}}),
	}
}

// decision returns the i'th decision: one attempt that succeeded, or for
// every tenth a failed attempt first.
func (s *decisionSource) decision(tb testing.TB, i int) *octomesh.Decision {
	p, err := s.rt.Decide(s.req, s.opts, router.KeyScope{})
	if err != nil {
		tb.Fatal(err)
	}
	d := p.Decision
	d.RequestID = "req_5f0c1a2b3c4d5e6f" + strconv.FormatUint(uint64(i), 36)
	d.OrgID = "org_" + strconv.Itoa(i%7)
	d.Time = time.Now()
	d.PromptCluster = 1 + i%12
	at := time.Duration(i%1000) * time.Microsecond
	if i%10 == 0 && len(p.Attempts) > 1 {
		a := p.Attempts[0].Deployment
		d.Attempts = append(d.Attempts, octomesh.AttemptRecord{Deployment: a.Name, Provider: a.Provider, Outcome: "upstream_error",
			Status: 503, Start: at, Duration: 31 * time.Millisecond, TTFB: 31 * time.Millisecond})
		p.Attempts = p.Attempts[1:]
		at += 32 * time.Millisecond
	}
	a := p.Attempts[0].Deployment
	d.Attempts = append(d.Attempts, octomesh.AttemptRecord{Deployment: a.Name, Provider: a.Provider, Outcome: "ok",
		Start: at, Duration: 412*time.Millisecond + time.Duration(i), TTFB: 180*time.Millisecond + time.Duration(i), Relayed: 2048 + i%512})
	d.Outcome = "ok"
	return d
}
