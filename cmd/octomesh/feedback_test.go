package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// TestFeedbackMovesAutoRouting drives online learning end to end over
// loopback HTTP on the simulated fleet: auto requests go to the cheapest
// model predicted to answer well; thumbs down on its answers, for prompts
// of one cluster, lower its blended quality exactly as the shrinkage
// formula says, until auto sends similar prompts elsewhere. Feedback on
// another org's request answers 404 byte for byte like an unknown id, and
// the canary in the prompts appears in no answer and no log line.
func TestFeedbackMovesAutoRouting(t *testing.T) {
	ts := startAdminServer(t, "")
	orgA := ts.newOrg(t, "Feedback A", "Owner A", "owner-a@example.com")
	orgB := ts.newOrg(t, "Feedback B", "Owner B", "owner-b@example.com")
	keyA, keyB := orgA.OwnerKey.Key, orgB.OwnerKey.Key

	const canary = "xylocanary5521"
	prompt := func(i int) string {
		return fmt.Sprintf("Write two friendly sentences for the %s newsletter about our picnic, draft %d.", canary, i)
	}
	body := func(p string) string {
		return `{"model":"auto","max_tokens":16,"messages":[{"role":"user","content":` + jsonString(p) + `}]}`
	}
	explain := func(p string) octomesh.Decision {
		t.Helper()
		var d octomesh.Decision
		ts.must(t, 200, keyA, "POST", "/v1/routing/explain", body(p), &d)
		return d
	}
	decision := func(id string) octomesh.Decision {
		t.Helper()
		var d octomesh.Decision
		ts.must(t, 200, keyA, "GET", "/v1/routing/decisions/"+id, "", &d)
		return d
	}
	quality := func(d octomesh.Decision, dep string) float64 {
		for _, c := range d.Candidates {
			if c.Deployment == dep {
				return c.Quality
			}
		}
		t.Fatalf("%s is not a candidate of %v", dep, d.Plan)
		return 0
	}
	var answers []string

	probe := prompt(0)
	before := explain(probe)
	bad := before.Plan[0]
	q0 := quality(before, bad)
	cluster := before.PromptCluster
	if before.Explored || cluster < 1 || cluster > 64 {
		t.Fatalf("explain: cluster %d explored %v", cluster, before.Explored)
	}
	t.Logf("auto's first choice %s (predicted %.3f) in cluster %d", bad, q0, cluster)

	// Rate every answer bad's gives, until explain moves away from it.
	downs := 0
	for i := 1; i <= 40 && explain(probe).Plan[0] == bad; i++ {
		id := fmt.Sprintf("fb-%s-%d", randomHex(t, 3), i)
		r := ts.do(t, keyA, "POST", "/v1/chat/completions", body(prompt(i)), "X-Request-Id", id)
		if r.Status != 200 {
			t.Fatalf("chat: %d %s", r.Status, r.Body)
		}
		d := decision(id)
		answers = append(answers, fmt.Sprint(d))
		if d.PromptCluster != cluster {
			t.Fatalf("draft %d: cluster %d, want %d like draft 0", i, d.PromptCluster, cluster)
		}
		served := ""
		for _, a := range d.Attempts {
			if a.Outcome == "ok" {
				served = a.Deployment
			}
		}
		if d.Explored && d.Plan[1] != bad {
			t.Errorf("explored decision %v: the router's choice %s should come second", d.Plan, bad)
		}
		if served != bad {
			continue
		}
		var rec octomesh.FeedbackReceipt
		ts.must(t, 200, keyA, "POST", "/v1/feedback", `{"request_id":"`+id+`","thumbs":"down","label":"off_tone"}`, &rec)
		answers = append(answers, fmt.Sprint(rec))
		want := octomesh.FeedbackReceipt{Object: "feedback", RequestID: id, Deployment: bad, PromptCluster: cluster, Score: 0, Label: "off_tone"}
		if rec != want {
			t.Fatalf("receipt %+v, want %+v", rec, want)
		}
		downs++
		// The blended quality: k = 10 pseudo-observations of the offline
		// prediction, plus the zeros (decayed by seconds of a 72h half-life).
		if got, want := quality(explain(probe), bad), 10*q0/float64(10+downs); math.Abs(got-want) > 1e-4 {
			t.Errorf("after %d thumbs down: %s's quality %.6f, want 10·%.6f/(10+%d) = %.6f", downs, bad, got, q0, downs, want)
		}
	}
	after := explain(probe)
	if after.Plan[0] == bad || downs == 0 {
		t.Fatalf("after %d thumbs down auto still picks %s first: %v", downs, bad, after.Plan)
	}
	t.Logf("after %d thumbs down auto picks %s", downs, after.Plan[0])
	// A new similar prompt, sent for real, goes elsewhere too (unless this
	// very decision explores, which puts the router's choice second).
	r := ts.do(t, keyA, "POST", "/v1/chat/completions", body(prompt(100)), "X-Request-Id", "fb-after")
	if r.Status != 200 {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	if d := decision("fb-after"); d.PromptCluster != cluster || !d.Explored && d.Plan[0] == bad || d.Explored && d.Plan[1] == bad {
		t.Errorf("a similar prompt after the feedback: cluster %d, plan %v, explored %v", d.PromptCluster, d.Plan, d.Explored)
	}

	// Another org's request answers exactly like an unknown one.
	foreign := ts.do(t, keyB, "POST", "/v1/feedback", `{"request_id":"fb-after","thumbs":"up"}`)
	unknown := ts.do(t, keyB, "POST", "/v1/feedback", `{"request_id":"fb-nowhere","thumbs":"up"}`)
	if foreign.Status != 404 || unknown.Status != 404 ||
		strings.ReplaceAll(string(foreign.Body), "fb-after", "ID") != strings.ReplaceAll(string(unknown.Body), "fb-nowhere", "ID") {
		t.Errorf("foreign: %d %s\nunknown: %d %s\nwant the same 404", foreign.Status, foreign.Body, unknown.Status, unknown.Body)
	}
	// ... and changed nothing: org A's next feedback on it is the first.
	var rec octomesh.FeedbackReceipt
	ts.must(t, 200, keyA, "POST", "/v1/feedback", `{"request_id":"fb-after","score":0.9}`, &rec)
	if rec.Replaced {
		t.Errorf("org B's attempt counted as feedback: %+v", rec)
	}
	ts.must(t, 200, keyA, "POST", "/v1/feedback", `{"request_id":"fb-after","score":0.7}`, &rec)
	if !rec.Replaced || rec.Score != 0.7 {
		t.Errorf("second feedback on one request: %+v, want it to replace the first", rec)
	}
	bad400 := ts.do(t, keyA, "POST", "/v1/feedback", `{"request_id":"fb-after","score":1.5}`)
	if bad400.Status != 400 || !strings.Contains(string(bad400.Body), `"param":"score"`) {
		t.Errorf("score 1.5: %d %s, want 400 naming score", bad400.Status, bad400.Body)
	}

	// Privacy: the prompts' canary is in no answer of the feedback and
	// decision routes, and in no log line (the server logs at debug level).
	// (The chat answers are the model's to write: not checked.)
	for _, a := range append(answers, fmt.Sprint(decision("fb-after")), string(ts.Stderr.Bytes()), string(ts.Stdout.Bytes())) {
		if strings.Contains(a, canary) {
			t.Fatalf("the canary leaked: %.300s", a)
		}
	}
}

// TestDecisionShowsThePromptCluster: the decision record, as GET
// /v1/routing/decisions/{id} and explain show it, carries the prompt
// cluster (and "explored" only when set).
func TestDecisionShowsThePromptCluster(t *testing.T) {
	ts := startAdminServer(t, "")
	org := ts.newOrg(t, "Cluster", "Owner", "owner@example.com")
	r := ts.do(t, org.OwnerKey.Key, "POST", "/v1/chat/completions",
		`{"model":"sim/gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"Why is the sky blue?"}]}`, "X-Request-Id", "cl-1")
	if r.Status != 200 {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	got := ts.do(t, org.OwnerKey.Key, "GET", "/v1/routing/decisions/cl-1", "")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(got.Body, &raw); err != nil {
		t.Fatal(err)
	}
	// "Why is the sky blue?": a question (kind 6) with no domain word (0).
	if string(raw["prompt_cluster"]) != "49" {
		t.Errorf("prompt_cluster %s, want 49: %s", raw["prompt_cluster"], got.Body)
	}
	if _, ok := raw["explored"]; ok {
		t.Errorf("a named model's decision shows explored: %s", got.Body)
	}
}
