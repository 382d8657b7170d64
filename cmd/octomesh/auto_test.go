package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// TestAutoRoutesByPredictedQuality: "auto" ranks by the built-in learned
// router's per-prompt predictions, and picks the cheapest candidate at or
// above the quality floor.
func TestAutoRoutesByPredictedQuality(t *testing.T) {
	ts := startServer(t, serverOptions{})
	explain := func(prompt string) *octomesh.Decision {
		t.Helper()
		body := `{"model":"auto","messages":[{"role":"user","content":` + jsonString(prompt) + `}]}`
		req, _ := http.NewRequest("POST", ts.URL+"/v1/routing/explain", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ts.AdminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("explain: %d %s", resp.StatusCode, b)
		}
		var d octomesh.Decision
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		return &d
	}
	d := explain("Let p = (1, 2, 5, 4)(2, 3) in S_5. Find the index of <p> in S_5.\nA. 8\nB. 2\nC. 24\nD. 120")
	if d.Objective != octomesh.ObjectiveQuality {
		t.Errorf("objective = %q, want quality for auto", d.Objective)
	}
	qs := map[float64]bool{}
	var best float64
	for _, c := range d.Candidates {
		qs[c.Quality] = true
		best = max(best, c.Quality)
	}
	if len(qs) < 3 {
		t.Fatalf("predicted qualities %v: the learned router is not in use", d.Candidates)
	}
	// The chosen model reaches the floor (0.9 of the best) and nothing
	// cheaper that reaches it was passed over.
	chosen := d.Candidates[0]
	if chosen.Deployment != d.Plan[0] || chosen.Quality < 0.9*best-1e-9 {
		t.Errorf("chosen %+v, best quality %.3f", chosen, best)
	}
	for _, c := range d.Candidates[1:] {
		if c.Quality >= 0.9*best && c.ExpectedCost < chosen.ExpectedCost {
			t.Errorf("%s reaches the floor and is cheaper than %s", c.Deployment, chosen.Deployment)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
