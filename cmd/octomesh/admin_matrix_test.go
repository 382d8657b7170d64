package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/httpapi"
)

// TestIsolationMatrix attacks the admin API the way a tenant would attack
// another. The matrix is generated from the route table itself
// (httpapi.Server.Routes), so a new route is covered automatically, or the
// test fails until it gets a sample request:
//
//   - every role × every authenticated route, in a fresh organisation of
//     the caller's own: 2xx exactly when the route's permission (or, for
//     the caller's own objects, its Self permission) is the role's, else 403;
//   - every role × every route with another organisation's id in the path
//     (the organisation itself, or its users, keys, decisions under the
//     caller's own organisation): 404, or 403 where the role lacks the
//     permission anyway, byte for byte the answer for an id that does not
//     exist at all;
//   - list filters pointed at the other organisation's objects: empty;
//   - and no answer to the attacker ever holds the victim's data: its
//     names, emails, ids, key prefixes or keys, unless the attacker sent
//     that string itself.
//
// It runs on SQLite and, with OCTOMESH_TEST_POSTGRES_DSN, on PostgreSQL.
func TestIsolationMatrix(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ts := startAdminServer(t, b.dsn(t))
			runMatrix(t, ts)
		})
	}
}

// sample is how the matrix calls one route.
type sample struct {
	body   string // with {user}, {key} … filled in
	filter string // a query that points a list at the victim's objects; want an empty list
}

// samples holds a request for every authenticated route. A route missing
// here fails the matrix: add a sample when you add a route.
var samples = map[string]sample{
	"POST /v1/chat/completions":              {body: `{"model":"sim/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`},
	"POST /v1/messages":                      {body: `{"model":"sim/gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`},
	"POST /v1/embeddings":                    {body: `{"model":"sim/text-embedding-3-small","input":"hi"}`},
	"GET /v1/models":                         {},
	"GET /v1/models/{id...}":                 {},
	"GET /v1/routing/decisions/{id}":         {},
	"POST /v1/routing/explain":               {body: `{"model":"sim/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`},
	"POST /v1/feedback":                      {body: `{"request_id":"{id}","thumbs":"up"}`},
	"GET /v1/me":                             {},
	"GET /v1/orgs":                           {},
	"POST /v1/orgs":                          {body: `{"name":"Another","owner":{"name":"Another owner"}}`},
	"GET /v1/orgs/{org}":                     {},
	"PATCH /v1/orgs/{org}":                   {body: `{"name":"Renamed","settings":{"no_training":true}}`},
	"DELETE /v1/orgs/{org}":                  {},
	"GET /v1/orgs/{org}/billing":             {},
	"PUT /v1/orgs/{org}/billing":             {body: `{"billing_email":"ap@example.com"}`},
	"GET /v1/orgs/{org}/users":               {filter: "?email={victim_email}"},
	"POST /v1/orgs/{org}/users":              {body: `{"name":"New person","email":"new@example.com"}`},
	"GET /v1/orgs/{org}/users/{user}":        {},
	"PATCH /v1/orgs/{org}/users/{user}":      {body: `{"name":"Renamed"}`},
	"DELETE /v1/orgs/{org}/users/{user}":     {},
	"GET /v1/orgs/{org}/users/{user}/export": {},
	"GET /v1/orgs/{org}/members":             {filter: "?role=member"},
	"GET /v1/orgs/{org}/members/{user}":      {},
	"PUT /v1/orgs/{org}/members/{user}":      {body: `{"role":"viewer"}`},
	"DELETE /v1/orgs/{org}/members/{user}":   {},
	"GET /v1/orgs/{org}/keys":                {filter: "?user_id={victim_user}"},
	"POST /v1/orgs/{org}/keys":               {body: `{"name":"new key","role":"member"}`},
	"GET /v1/orgs/{org}/keys/{key}":          {},
	"PATCH /v1/orgs/{org}/keys/{key}":        {body: `{"name":"renamed"}`},
	"DELETE /v1/orgs/{org}/keys/{key}":       {},
	"POST /v1/orgs/{org}/keys/{key}/rotate":  {body: `{"overlap":"1h"}`},
	"POST /v1/orgs/{org}/keys/{key}/revoke":  {},
	"GET /v1/orgs/{org}/audit":               {filter: "?target={victim_key}"},
	// Billing (docs/billing.md).
	"GET /v1/usage":                            {},
	"GET /v1/orgs/{org}/usage":                 {filter: "?key={victim_key}&group_by=key"},
	"GET /v1/orgs/{org}/ledger":                {filter: "?key={victim_key}"},
	"GET /v1/orgs/{org}/statements/{month}":    {},
	"GET /v1/orgs/{org}/credits":               {},
	"GET /v1/orgs/{org}/budgets":               {},
	"POST /v1/orgs/{org}/budgets":              {body: `{"name":"cap","limit":"10.00"}`},
	"GET /v1/orgs/{org}/budgets/{budget}":      {},
	"PATCH /v1/orgs/{org}/budgets/{budget}":    {body: `{"limit":"20.00"}`},
	"DELETE /v1/orgs/{org}/budgets/{budget}":   {},
	"POST /v1/billing/credits":                 {body: `{"org_id":"{org}","amount":"1.00"}`},
	"POST /v1/billing/stripe/invoices/{month}": {body: `{"org_id":"{org}"}`},
}

// world is one organisation the matrix uses.
type world struct {
	org      apiOrg
	ownerKey string
	user     apiUser // a member of the org, owning key
	key      apiKey
	decision string // the request id of one of the org's routed requests
	budget   string // one of the org's budgets
}

// vals are a route's path parameters in w.
func (w *world) vals() map[string]string {
	return map[string]string{"{org}": w.org.ID, "{user}": w.user.ID, "{key}": w.key.ID, "{id...}": "sim/gpt-4o-mini", "{id}": w.decision,
		"{budget}": w.budget, "{month}": "2026-03"}
}

// missing are path parameters naming nothing at all.
func missing() map[string]string {
	return map[string]string{"{org}": "org_00000000000000000000", "{user}": "usr_00000000000000000000", "{key}": "key_00000000000000000000",
		"{id...}": "sim/gpt-4o-mini", "{id}": "req-missing-00000000",
		"{budget}": "bud_00000000000000000000", "{month}": "2026-03"}
}

func fill(s string, vals map[string]string) string {
	for k, v := range vals {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

func splitPattern(p string) (method, path string) {
	method, path, _ = strings.Cut(p, " ")
	return
}

// newWorld creates an organisation with a member who owns a key, and one
// routed request.
func newMatrixWorld(t *testing.T, ts *adminServer, label string) *world {
	t.Helper()
	tag := label + "-" + randomHex(t, 4)
	w := &world{org: ts.newOrg(t, "Org "+tag, "Owner "+tag, "owner-"+tag+"@example.com")}
	w.ownerKey = w.org.OwnerKey.Key
	w.user, w.key = ts.newMember(t, w.ownerKey, w.org.ID, "Member "+tag, "member-"+tag+"@example.com", "member")
	w.decision = "req-" + tag
	var b struct {
		ID string `json:"id"`
	}
	ts.must(t, 201, w.ownerKey, "POST", "/v1/orgs/"+w.org.ID+"/budgets", `{"name":"Budget `+tag+`","limit":"100.00"}`, &b)
	w.budget = b.ID
	r := ts.do(t, w.ownerKey, "POST", "/v1/chat/completions", samples["POST /v1/chat/completions"].body, "X-Request-Id", w.decision)
	if r.Status != 200 {
		t.Fatalf("routed request: %d %s", r.Status, r.Body)
	}
	return w
}

// isObjectRoute reports whether a route acts on one object below the organisation.
func isObjectRoute(pattern string) bool {
	return strings.Contains(pattern, "{user}") || strings.Contains(pattern, "{key}") || strings.Contains(pattern, "{budget}")
}

func runMatrix(t *testing.T, ts *adminServer) {
	routes := httpapi.New(httpapi.Options{}).Routes()
	for _, rt := range routes {
		if _, ok := samples[rt.Pattern]; rt.Auth && !ok {
			t.Errorf("route %s has no sample request: add one to samples so the isolation matrix covers it", rt.Pattern)
		}
	}
	victim := newMatrixWorld(t, ts, "victim")
	attacker := newMatrixWorld(t, ts, "attacker")
	// The attacker holds a key of every role, each bound to a user of that role.
	attackerKeys := map[octomesh.OrgRole]string{}
	attackerUsers := map[octomesh.OrgRole]string{}
	for _, role := range octomesh.OrgRoles() {
		u, k := ts.newMember(t, attacker.ownerKey, attacker.org.ID, "Attacker "+string(role), "attacker-"+string(role)+"@example.com", string(role))
		attackerKeys[role], attackerUsers[role] = k.Key, u.ID
	}

	// Everything of the victim's that must never reach the attacker.
	var vb world = *victim
	var victimUsers apiList[apiUser]
	ts.must(t, 200, vb.ownerKey, "GET", "/v1/orgs/"+vb.org.ID+"/users", "", &victimUsers)
	var billing struct {
		Email string `json:"billing_email"`
	}
	ts.must(t, 200, vb.ownerKey, "GET", "/v1/orgs/"+vb.org.ID+"/billing", "", &billing)
	canaries := []string{vb.org.ID, vb.org.Name, billing.Email, vb.decision, vb.key.ID, vb.key.Prefix, vb.key.Key,
		vb.org.OwnerKey.ID, vb.org.OwnerKey.Prefix, vb.ownerKey}
	for _, u := range victimUsers.Data {
		canaries = append(canaries, u.ID, u.Name, u.Email)
	}
	// The scanner works: the operator, who may list every organisation, sees the victim.
	if r := ts.do(t, ts.AdminKey, "GET", "/v1/orgs", ""); !bytes.Contains(r.Body, []byte(vb.org.Name)) {
		t.Fatalf("positive control: the operator's organisation list lacks the victim: %s", r.Body)
	}
	leaks := 0
	checkLeak := func(t *testing.T, what, request string, r response) {
		t.Helper()
		for _, c := range canaries {
			if c != "" && bytes.Contains(r.Body, []byte(c)) && !strings.Contains(request, c) {
				leaks++
				t.Errorf("%s: the answer holds the victim's %q:\n%s", what, c, r.Body)
			}
		}
	}
	normalise := func(b []byte, vals map[string]string) string {
		s := string(b)
		for k, v := range vals {
			if v != "" {
				s = strings.ReplaceAll(s, v, k)
			}
		}
		return s
	}

	for _, rt := range routes {
		if !rt.Auth {
			continue
		}
		s, ok := samples[rt.Pattern]
		if !ok {
			continue
		}
		method, pattern := splitPattern(rt.Pattern)
		hasOrg := strings.Contains(pattern, "{org}")
		for _, role := range octomesh.OrgRoles() {
			p := &octomesh.Principal{Role: role, UserID: "u"}
			hasPerm := rt.Perm == "" || p.Can(rt.Perm)
			passes := hasPerm || (rt.Self != "" && p.Can(rt.Self))
			key := attackerKeys[role]
			name := strings.ReplaceAll(rt.Pattern, "/", "_") + "/" + string(role)

			t.Run("own/"+name, func(t *testing.T) {
				w := newMatrixWorld(t, ts, "cell")
				u, k := ts.newMember(t, w.ownerKey, w.org.ID, "Caller", "caller@example.com", string(role))
				_ = u
				path, body := fill(pattern, w.vals()), fill(s.body, w.vals())
				r := ts.do(t, k.Key, method, path, body)
				want := "403"
				switch {
				case hasPerm, passes && !isObjectRoute(pattern):
					want = "2xx"
				}
				if got := fmt.Sprint(r.Status); (want == "2xx") != (r.Status >= 200 && r.Status < 300) || (want == "403" && r.Status != 403) {
					t.Errorf("%s %s as %s in its own organisation: status %s, want %s: %s", method, path, role, got, want, r.Body)
				}
				checkLeak(t, method+" "+path, path+body, r)
			})

			if !hasOrg && !strings.Contains(pattern, "{id}") {
				// Nothing foreign to name: only check the answer to the attacker.
				t.Run("attacker/"+name, func(t *testing.T) {
					path, body := fill(pattern, attacker.vals()), fill(s.body, attacker.vals())
					checkLeak(t, method+" "+path, path+body, ts.do(t, key, method, path, body))
				})
				continue
			}

			t.Run("foreign/"+name, func(t *testing.T) {
				// The victim's ids where the path takes them: the victim's
				// organisation itself, or its objects under the attacker's.
				vals := vb.vals()
				miss := missing()
				wantStatus := 404
				if hasOrg && isObjectRoute(pattern) {
					vals["{org}"], miss["{org}"] = attacker.org.ID, attacker.org.ID
					if !passes {
						wantStatus = 403
					}
				}
				if !hasOrg && !passes {
					// Ids looked up within the caller's own org (e.g. a routing
					// decision): a role without the permission is refused
					// before any lookup, for foreign and missing ids alike.
					wantStatus = 403
				}
				for _, v := range []map[string]string{vals} {
					path, body := fill(pattern, v), fill(s.body, attacker.vals())
					r := ts.do(t, key, method, path, body)
					if r.Status != wantStatus {
						t.Errorf("%s %s as %s: status %d, want %d: %s", method, path, role, r.Status, wantStatus, r.Body)
					}
					checkLeak(t, method+" "+path, path+body, r)
					mpath := fill(pattern, miss)
					m := ts.do(t, key, method, mpath, body)
					if a, b := normalise(r.Body, v), normalise(m.Body, miss); r.Status != m.Status || a != b {
						t.Errorf("%s as %s: a foreign id answers differently from a missing one:\n foreign %d %s\n missing %d %s", rt.Pattern, role, r.Status, a, m.Status, b)
					}
				}
				// Positive control: the ids are real; the victim's owner reaches them.
				if method == "GET" {
					if r := ts.do(t, vb.ownerKey, method, fill(pattern, vb.vals()), ""); r.Status != 200 {
						t.Errorf("positive control: the victim's owner gets %d for %s: %s", r.Status, fill(pattern, vb.vals()), r.Body)
					}
				}
			})

			if s.filter != "" && hasOrg && !isObjectRoute(pattern) {
				t.Run("filter/"+name, func(t *testing.T) {
					q := fill(s.filter, map[string]string{"{victim_email}": victimUsers.Data[len(victimUsers.Data)-1].Email,
						"{victim_user}": vb.user.ID, "{victim_key}": vb.key.ID})
					path := fill(pattern, attacker.vals()) + q
					r := ts.do(t, key, method, path, "")
					checkLeak(t, method+" "+path, path, r)
					if !passes {
						if r.Status != 403 {
							t.Errorf("%s as %s: status %d, want 403", path, role, r.Status)
						}
						return
					}
					var l apiList[json.RawMessage]
					if err := json.Unmarshal(r.Body, &l); r.Status != 200 || err != nil {
						t.Fatalf("%s as %s: %d %s", path, role, r.Status, r.Body)
					}
					if strings.Contains(q, "role=") {
						return // not a foreign filter; the leak check above is the point
					}
					if len(l.Data) != 0 {
						t.Errorf("%s as %s: a filter on the victim's object returned %d items", path, role, len(l.Data))
					}
				})
			}
		}
	}

	// Ids in request bodies: a key for the victim's user answers like a key
	// for a user that does not exist.
	for _, role := range []octomesh.OrgRole{octomesh.RoleOwner, octomesh.RoleAdmin} {
		path := "/v1/orgs/" + attacker.org.ID + "/keys"
		foreign := ts.do(t, attackerKeys[role], "POST", path, `{"name":"x","user_id":"`+vb.user.ID+`"}`)
		missingU := ts.do(t, attackerKeys[role], "POST", path, `{"name":"x","user_id":"usr_00000000000000000000"}`)
		if foreign.Status != 400 || foreign.Status != missingU.Status || string(foreign.Body) != string(missingU.Body) {
			t.Errorf("key for a foreign user as %s: %d %s; for a missing user: %d %s", role, foreign.Status, foreign.Body, missingU.Status, missingU.Body)
		}
	}
	// The victim is untouched: its owner still works and sees its member and key.
	var keys apiList[apiKey]
	ts.must(t, 200, vb.ownerKey, "GET", "/v1/orgs/"+vb.org.ID+"/keys", "", &keys)
	if len(keys.Data) != 2 {
		t.Errorf("the victim has %d keys after the attack, want 2", len(keys.Data))
	}
	for _, k := range keys.Data {
		if k.Status != "active" {
			t.Errorf("the victim's key %s is %s after the attack", k.ID, k.Status)
		}
	}
	_ = attackerUsers
	_ = http.StatusOK
}
