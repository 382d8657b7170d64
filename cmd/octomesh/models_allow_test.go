package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestModelsFollowAllowList: /v1/models lists only the models a key may
// use, and /v1/models/{id} answers 404 for the others, as for an unknown
// model. A key without an allow-list sees every model.
func TestModelsFollowAllowList(t *testing.T) {
	ts := startAdminServer(t, "")
	var k apiKey
	// An alias in the allow-list names its deployment.
	ts.must(t, 201, ts.AdminKey, "POST", "/v1/orgs/default/keys", `{"name":"narrow","role":"member","scopes":{"models":["gpt-4o-mini"]}}`, &k)
	list := func(key string) []string {
		var out struct {
			Data []struct{ ID string }
		}
		r := ts.do(t, key, "GET", "/v1/models", "")
		if r.Status != 200 || json.Unmarshal(r.Body, &out) != nil {
			t.Fatalf("GET /v1/models: %d %s", r.Status, r.Body)
		}
		var ids []string
		for _, d := range out.Data {
			ids = append(ids, d.ID)
		}
		return ids
	}
	if got := list(k.Key); len(got) != 1 || got[0] != "sim/gpt-4o-mini" {
		t.Errorf("narrow key lists %v, want [sim/gpt-4o-mini]", got)
	}
	if got := list(ts.AdminKey); len(got) < 10 {
		t.Errorf("unrestricted key lists only %v", got)
	}
	if r := ts.do(t, k.Key, "GET", "/v1/models/sim/gpt-4o-mini", ""); r.Status != 200 {
		t.Errorf("allowed model: %d %s", r.Status, r.Body)
	}
	r := ts.do(t, k.Key, "GET", "/v1/models/sim/gpt-4o", "")
	unknown := ts.do(t, k.Key, "GET", "/v1/models/sim/no-such-model", "")
	if r.Status != 404 || unknown.Status != 404 {
		t.Errorf("a model outside the allow-list: %d %s; an unknown one: %d", r.Status, r.Body, unknown.Status)
	}
}

// TestKeyScopesNameExistingBudgets: a key's scopes.budgets must name
// budgets of its organisation; an unknown id is refused, a real one kept.
func TestKeyScopesNameExistingBudgets(t *testing.T) {
	ts := startAdminServer(t, "")
	r := ts.do(t, ts.AdminKey, "POST", "/v1/orgs/default/keys", `{"name":"k","role":"member","scopes":{"budgets":["bud_nope"]}}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), `this organisation has no budget \"bud_nope\"`) {
		t.Fatalf("unknown budget: %d %s", r.Status, r.Body)
	}
	var b struct{ ID string }
	ts.must(t, 201, ts.AdminKey, "POST", "/v1/orgs/default/budgets", `{"name":"team","scope":"org","period":"month","limit":"5.00"}`, &b)
	var k apiKey
	ts.must(t, 201, ts.AdminKey, "POST", "/v1/orgs/default/keys", `{"name":"k","role":"member","scopes":{"budgets":["`+b.ID+`"]}}`, &k)
	r = ts.do(t, ts.AdminKey, "PATCH", "/v1/orgs/default/keys/"+k.ID, `{"scopes":{"budgets":["bud_other"]}}`)
	if r.Status != 400 {
		t.Errorf("update to an unknown budget: %d %s", r.Status, r.Body)
	}
}
