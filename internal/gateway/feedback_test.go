package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router"
	"github.com/octomesh/octomesh/internal/router/online"
	"github.com/octomesh/octomesh/internal/router/quality"
)

// blendPredictor is the live adapter's shape (cmd/octomesh/quality.go):
// fixed offline qualities, blended with the learner's statistics.
type blendPredictor struct {
	base map[string]float64
	l    *online.Learner
}

func (p blendPredictor) Predict(prompt string, deps []string, q []float64) {
	for i, d := range deps {
		q[i] = p.base[d]
	}
	p.l.Blend(p.l.Cluster(prompt), deps, q)
}

// learningBed is a gateway with a router, an online learner and one
// scripted provider serving three deployments of rising price and
// predicted quality.
type learningBed struct {
	svc  *Service
	l    *online.Learner
	prov *scripted
}

func newLearningBed(t *testing.T, cfg online.Config) *learningBed {
	t.Helper()
	price := func(in, out int64) octomesh.Price {
		return octomesh.Price{InputPerMTok: octomesh.Money(in) * octomesh.Dollar / 100, OutputPerMTok: octomesh.Money(out) * octomesh.Dollar / 100}
	}
	deps := []octomesh.Deployment{
		{Name: "p/cheap", Provider: "p", UpstreamModel: "cheap", ContextWindow: 100_000, Capabilities: allCaps, Price: price(10, 40)},
		{Name: "p/mid", Provider: "p", UpstreamModel: "mid", ContextWindow: 100_000, Capabilities: allCaps, Price: price(30, 120)},
		{Name: "p/dear", Provider: "p", UpstreamModel: "dear", ContextWindow: 100_000, Capabilities: allCaps, Price: price(300, 1200)},
	}
	cfg.Clusters = quality.NumClusters + 1
	cfg.Cluster = quality.Cluster
	for _, d := range deps {
		cfg.Models = append(cfg.Models, d.Name)
	}
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 0.99 } // never explore
	}
	if cfg.Now == nil {
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		cfg.Now = func() time.Time { return t0 } // nothing decays
	}
	l, err := online.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(router.Config{Deployments: deps,
		Quality: blendPredictor{map[string]float64{"p/cheap": 0.85, "p/mid": 0.88, "p/dear": 0.9}, l},
		Rand:    func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := NewCatalog(deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	prov := &scripted{id: "p", resp: okResp()}
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": prov}, Router: rt, Online: l})
	if err != nil {
		t.Fatal(err)
	}
	return &learningBed{svc: svc, l: l, prov: prov}
}

// orgCtx is a request context of org with request id id.
func orgCtx(org, id string) context.Context {
	ctx := octomesh.WithPrincipal(context.Background(), &octomesh.Principal{KeyID: "k-" + org, OrgID: org, Role: octomesh.RoleMember})
	return octomesh.WithRequestID(ctx, id)
}

func askAuto(t *testing.T, b *learningBed, org, id, prompt string) *octomesh.Decision {
	t.Helper()
	req := &octomesh.ChatRequest{Model: "auto", Messages: []octomesh.Message{{Role: "user", Content: octomesh.TextContent(prompt)}}}
	if _, _, err := b.svc.Chat(orgCtx(org, id), req); err != nil {
		t.Fatal(err)
	}
	dec, err := b.svc.Decision(orgCtx(org, ""), id)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

func TestFeedbackMovesAutoRouting(t *testing.T) {
	b := newLearningBed(t, online.Config{})
	prompt := func(i int) string {
		return "Explain in two sentences why the sky looks blue at noon, variant " + string(rune('a'+i)) + "."
	}
	dec := askAuto(t, b, "a", "r0", prompt(0))
	if dec.Plan[0] != "p/cheap" || dec.PromptCluster < 1 || dec.PromptCluster > quality.NumClusters || dec.Explored {
		t.Fatalf("first decision: plan %v cluster %d explored %v; want p/cheap first, a cluster, no exploration", dec.Plan, dec.PromptCluster, dec.Explored)
	}
	cluster := dec.PromptCluster
	rec, err := b.svc.Feedback(orgCtx("a", ""), &octomesh.Feedback{RequestID: "r0", Score: 0, Label: "wrong_answer"})
	if err != nil {
		t.Fatal(err)
	}
	want := octomesh.FeedbackReceipt{Object: "feedback", RequestID: "r0", Deployment: "p/cheap", PromptCluster: cluster, Score: 0, Label: "wrong_answer"}
	if *rec != want {
		t.Errorf("receipt %+v, want %+v", *rec, want)
	}
	// One zero on top of k = 10 pseudo-observations of 0.85: 8.5/11 =
	// 0.773, below the floor 0.9 × 0.9 = 0.81. The next similar prompt
	// goes to p/mid, with the blended quality in the decision.
	dec = askAuto(t, b, "a", "r1", prompt(1))
	if dec.PromptCluster != cluster {
		t.Fatalf("a similar prompt got cluster %d, want %d", dec.PromptCluster, cluster)
	}
	if dec.Plan[0] != "p/mid" {
		t.Errorf("after feedback: plan %v, want p/mid first", dec.Plan)
	}
	for _, c := range dec.Candidates {
		if c.Deployment == "p/cheap" && c.Quality != 8.5/11 {
			t.Errorf("p/cheap's quality %v, want 8.5/11 (blended)", c.Quality)
		}
	}
	// Another cluster is untouched.
	if dec := askAuto(t, b, "a", "r2", "def f(x):\n    return x\n```python\nprint(f(1))\n```"); dec.Plan[0] != "p/cheap" || dec.PromptCluster == cluster {
		t.Errorf("another cluster (%d): plan %v, want p/cheap first", dec.PromptCluster, dec.Plan)
	}
}

func TestFeedbackIsScopedToTheOrg(t *testing.T) {
	b := newLearningBed(t, online.Config{})
	askAuto(t, b, "a", "req-a", "What is the boiling point of water?")
	_, foreign := b.svc.Feedback(orgCtx("b", ""), &octomesh.Feedback{RequestID: "req-a", Score: 0})
	_, unknown := b.svc.Feedback(orgCtx("b", ""), &octomesh.Feedback{RequestID: "req-z", Score: 0})
	var fe, ue *octomesh.Error
	if !errors.As(foreign, &fe) || !errors.As(unknown, &ue) || fe.Code != octomesh.ENOTFOUND || ue.Code != octomesh.ENOTFOUND {
		t.Fatalf("foreign: %v, unknown: %v; want ENOTFOUND for both", foreign, unknown)
	}
	if got, want := strings.ReplaceAll(fe.Message, "req-a", "ID"), strings.ReplaceAll(ue.Message, "req-z", "ID"); got != want {
		t.Errorf("foreign %q and unknown %q answers differ", fe.Message, ue.Message)
	}
	if s := b.l.Snapshot(); len(s.Cells) != 0 {
		t.Errorf("foreign feedback changed the statistics: %+v", s.Cells)
	}
	// No principal: only requests made without one.
	if _, err := b.svc.Feedback(context.Background(), &octomesh.Feedback{RequestID: "req-a", Score: 0}); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		t.Errorf("without a principal: %v, want ENOTFOUND", err)
	}
}

func TestFeedbackLastWriteWins(t *testing.T) {
	b := newLearningBed(t, online.Config{})
	dec := askAuto(t, b, "a", "r", "Name three primary colours.")
	for i, fb := range []octomesh.Feedback{{RequestID: "r", Score: 0, Label: "wrong"}, {RequestID: "r", Score: 0.75, Label: "ok"}, {RequestID: "r", Score: 1}} {
		rec, err := b.svc.Feedback(orgCtx("a", ""), &fb)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Replaced != (i > 0) {
			t.Errorf("feedback %d: replaced %v", i, rec.Replaced)
		}
		w, mean, _ := b.l.Stats(dec.PromptCluster, "p/cheap")
		if w != 1 || mean != fb.Score {
			t.Errorf("after feedback %d: weight %v mean %v, want 1 and %v", i, w, mean, fb.Score)
		}
	}
	if labels := b.l.Snapshot().Labels; len(labels) != 0 {
		t.Errorf("labels %+v, want none: the last feedback has no label", labels)
	}
}

func TestFeedbackErrors(t *testing.T) {
	b := newLearningBed(t, online.Config{})
	b.prov.err = octomesh.Errorf(octomesh.EUPSTREAM, "boom")
	req := &octomesh.ChatRequest{Model: "auto", Messages: []octomesh.Message{{Role: "user", Content: octomesh.TextContent("hi")}}}
	if _, _, err := b.svc.Chat(orgCtx("a", "failed"), req); err == nil {
		t.Fatal("the request succeeded")
	}
	for _, tt := range []struct {
		name string
		fb   octomesh.Feedback
		code octomesh.ErrorCode
		msg  string
	}{
		{"no answer", octomesh.Feedback{RequestID: "failed", Score: 1}, octomesh.EINVALID, "got no answer"},
		{"score out of range", octomesh.Feedback{RequestID: "failed", Score: 2}, octomesh.EINVALID, "score"},
		{"bad label", octomesh.Feedback{RequestID: "failed", Score: 1, Label: "a b"}, octomesh.EINVALID, "label"},
		{"no id", octomesh.Feedback{Score: 1}, octomesh.EINVALID, "request_id"},
	} {
		_, err := b.svc.Feedback(orgCtx("a", ""), &tt.fb)
		var e *octomesh.Error
		if !errors.As(err, &e) || e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s: %v, want %s mentioning %q", tt.name, err, tt.code, tt.msg)
		}
	}
	// Without a learner feedback is refused.
	plain := newService(t, &scripted{id: "p", resp: okResp()})
	if _, err := plain.Feedback(orgCtx("a", ""), &octomesh.Feedback{RequestID: "x", Score: 1}); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND ||
		!strings.Contains(err.Error(), "not enabled") {
		t.Errorf("without online learning: %v", err)
	}
}

// TestExplorationReordersThePlan: an exploring decision puts the explored
// candidate first and the router's choice right after it, in the plan, the
// attempts and the recorded candidates alike; the request is served by the
// explored deployment; Explain never explores.
func TestExplorationReordersThePlan(t *testing.T) {
	b := newLearningBed(t, online.Config{Rand: func() float64 { return 0 }, MinClusterWeight: -1, ExploreRate: 0.05})
	prompt := "Give me a synonym for happy."
	req := &octomesh.ChatRequest{Model: "auto", Messages: []octomesh.Message{{Role: "user", Content: octomesh.TextContent(prompt)}}}
	ex, err := b.svc.Explain(orgCtx("a", "x0"), req)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Explored || ex.Plan[0] != "p/cheap" || ex.PromptCluster != quality.Cluster(prompt) {
		t.Fatalf("explain: plan %v explored %v cluster %d", ex.Plan, ex.Explored, ex.PromptCluster)
	}
	dec := askAuto(t, b, "a", "e1", prompt)
	// p/mid: unobserved, within 4× p/cheap's expected cost; p/dear is 30×.
	if !dec.Explored || strings.Join(dec.Plan, ",") != "p/mid,p/cheap,p/dear" {
		t.Fatalf("decision: plan %v explored %v; want p/mid,p/cheap,p/dear explored", dec.Plan, dec.Explored)
	}
	for k, c := range dec.Candidates {
		if c.Deployment != dec.Plan[k] {
			t.Errorf("candidate %d is %s, plan says %s", k, c.Deployment, dec.Plan[k])
		}
	}
	if len(dec.Attempts) != 1 || dec.Attempts[0].Deployment != "p/mid" {
		t.Errorf("attempts %+v, want one on p/mid", dec.Attempts)
	}
	if b.prov.gotReqs[len(b.prov.gotReqs)-1].Model != "mid" {
		t.Errorf("upstream model %q, want mid", b.prov.gotReqs[len(b.prov.gotReqs)-1].Model)
	}
	// A named model never explores; nor does a request whose cost cap
	// leaves the router one candidate (the cap is p/cheap's expected cost).
	named := &octomesh.ChatRequest{Model: "p/cheap", Messages: req.Messages}
	if _, _, err := b.svc.Chat(orgCtx("a", "n1"), named); err != nil {
		t.Fatal(err)
	}
	if d, _ := b.svc.Decision(orgCtx("a", ""), "n1"); d.Explored || d.PromptCluster == 0 {
		t.Errorf("named model: explored %v cluster %d; want no exploration, a cluster", d.Explored, d.PromptCluster)
	}
	ex, err = b.svc.Explain(orgCtx("a", "x1"), req)
	if err != nil {
		t.Fatal(err)
	}
	capped := &octomesh.ChatRequest{Model: "auto", Messages: req.Messages, Octomesh: &octomesh.RouteOptions{MaxCostUSD: ex.Candidates[0].ExpectedCost.String()}}
	if _, _, err := b.svc.Chat(orgCtx("a", "c1"), capped); err != nil {
		t.Fatal(err)
	}
	if d, _ := b.svc.Decision(orgCtx("a", ""), "c1"); d.Explored || strings.Join(d.Plan, ",") != "p/cheap" {
		t.Errorf("capped at %s: plan %v explored %v; want p/cheap alone, not explored", ex.Candidates[0].ExpectedCost, d.Plan, d.Explored)
	}
}

// TestLearningKeepsNoPromptText sends prompts holding a canary, gives
// feedback with a label, and checks the learner's snapshot and the
// decision records hold no trace of the prompt.
func TestLearningKeepsNoPromptText(t *testing.T) {
	const canary = "vqzcanary4417"
	b := newLearningBed(t, online.Config{Rand: func() float64 { return 0 }, MinClusterWeight: -1})
	for i := range 20 {
		id := "p" + string(rune('a'+i))
		askAuto(t, b, "a", id, "Please summarise the memo about "+canary+" for the board, item "+id+".")
		if _, err := b.svc.Feedback(orgCtx("a", ""), &octomesh.Feedback{RequestID: id, Score: 0.5, Label: "too_long"}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := json.Marshal(b.l.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(snap), canary) || !strings.Contains(string(snap), "too_long") {
		t.Errorf("snapshot: %s", snap)
	}
	dec, _ := b.svc.Decision(orgCtx("a", ""), "pa")
	if d, _ := json.Marshal(dec); strings.Contains(string(d), canary) {
		t.Errorf("decision holds the canary: %s", d)
	}
	b.svc.learning.mu.Lock()
	defer b.svc.learning.mu.Unlock()
	if len(b.svc.learning.applied) != 20 {
		t.Errorf("%d feedbacks remembered, want 20", len(b.svc.learning.applied))
	}
	for id, o := range b.svc.learning.applied {
		if strings.Contains(id.org+id.id, canary) || strings.Contains(fmt.Sprintf("%+v", o), canary) {
			t.Errorf("applied feedback holds the canary")
		}
	}
}
