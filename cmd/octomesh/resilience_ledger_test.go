package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// ledgerLine is one ledger entry as the ledger API shows it, reduced to
// what billing tests compare.
type ledgerLine struct {
	Attempt    int
	Deployment string
	Outcome    string
	Estimated  bool
	Prompt     int64
	Completion int64
	Cost       octomesh.Money
}

// ledger returns the ledger entries of one request, in attempt order.
func (rs *rsServer) ledger(t *testing.T, requestID string) []ledgerLine {
	t.Helper()
	req, _ := http.NewRequest("GET", rs.URL+"/v1/orgs/default/ledger?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+rs.AdminKey)
	resp, err := rs.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var page struct {
		Data []struct {
			RequestID        string `json:"request_id"`
			Attempt          int    `json:"attempt"`
			Deployment       string `json:"deployment"`
			Outcome          string `json:"outcome"`
			Estimated        bool   `json:"estimated"`
			PromptTokens     int64  `json:"prompt_tokens"`
			CompletionTokens int64  `json:"completion_tokens"`
			Cost             string `json:"cost"`
		} `json:"data"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(raw, &page) != nil {
		t.Fatalf("ledger API: %d %s", resp.StatusCode, raw)
	}
	var out []ledgerLine
	for _, e := range page.Data {
		if e.RequestID != requestID {
			continue
		}
		c, err := octomesh.ParseMoney(e.Cost)
		if err != nil {
			t.Fatalf("cost %q: %v", e.Cost, err)
		}
		out = append(out, ledgerLine{e.Attempt, e.Deployment, e.Outcome, e.Estimated, e.PromptTokens, e.CompletionTokens, c})
	}
	return out
}

// TestLedgerPerAttempt: every upstream attempt of a request has a ledger
// entry; failed attempts cost nothing, a failed-over answer is billed once
// at the serving model's price, a cut stream is billed for what it relayed
// (estimated, never for the error text), and a continued stream is billed
// per attempt. The entries sum to the cost the response reported.
func TestLedgerPerAttempt(t *testing.T) {
	t.Parallel()
	u := fakeUsage()
	up := func(n int) int64 { return int64(n) }
	t.Run("failover", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, poolFleet(), rsRouting{})
		rs.fake("pool/a").FailNext(503, "overloaded", nil)
		r := rs.chat(t, chatBody("pool", question, false))
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		price := rs.models["pool/b"].price(t)
		want := []ledgerLine{
			{1, "pool/a", "overloaded", false, 0, 0, 0},
			{2, "pool/b", "ok", false, up(u.PromptTokens), up(u.CompletionTokens), price.Cost(u)},
		}
		got := rs.ledger(t, r.requestID())
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ledger (-want +got):\n%s", diff)
		}
		if c, _ := octomesh.ParseMoney(r.header.Get("X-Octomesh-Cost-Usd")); c != price.Cost(u) {
			t.Errorf("cost header %s, want %s", c, price.Cost(u))
		}
	})
	t.Run("stream cut, no fallback", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, poolFleet(), rsRouting{})
		rs.fake("pool/a").CutStreamAfter(3)
		body := chatBody("pool", question, true)
		r := rs.chat(t, body)
		s := parseOpenAIStream(r.body)
		cost := estimatedCost(t, body, rs.models["pool/a"].price(t), len(s.text))
		got := rs.ledger(t, r.requestID())
		if len(got) != 1 || got[0].Outcome != "upstream_error" || !got[0].Estimated || got[0].Cost != cost || got[0].Completion != int64((len(s.text)+3)/4) {
			t.Errorf("ledger %+v, want one estimated upstream_error entry for %d relayed bytes costing %s", got, len(s.text), cost)
		}
	})
	t.Run("stream continued", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, continuationFleet(), rsRouting{})
		a, b := rs.fake("pool/a"), rs.fake("pool/b")
		a.CutStreamAfter(3)
		body := chatBody("pool", question, true)
		r := rs.chat(t, body)
		partial := prefill(t, b)
		costA := estimatedCost(t, body, rs.models["pool/a"].price(t), len(partial))
		costB := rs.models["pool/b"].price(t).Cost(u)
		got := rs.ledger(t, r.requestID())
		if len(got) != 2 || got[0].Cost != costA || !got[0].Estimated || got[1].Cost != costB || got[1].Outcome != "ok" || got[1].Completion != int64(fakeupstream.CompletionTokens) {
			t.Errorf("ledger %+v, want pool/a estimated at %s and pool/b reported at %s", got, costA, costB)
		}
		wantCost(t, r, costA+costB)
	})
}
