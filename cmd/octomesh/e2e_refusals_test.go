package main

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Requests the API layer refuses itself (no key, an unknown route, a wrong
// method, a malformed or oversized body) are counted in
// octomesh_requests_total and logged, like the gateway's own refusals, and
// each request exactly once: an unknown model, refused by the gateway,
// still counts once. Before, the API layer's refusals were in neither.
func TestRefusalsAreCountedAndLoggedOnce(t *testing.T) {
	ts := startServer(t, serverOptions{})
	chat := `{"model":"` + modelSim + `","messages":[{"role":"user","content":"hi"}]}`
	cases := []struct {
		method, path, key, body string
		route, code, errCode    string
	}{
		{"POST", "/v1/chat/completions", "", chat, "chat", "401", "unauthorized"},
		{"POST", "/v1/chat/completions", "om-not-a-key-0123456789", chat, "chat", "401", "unauthorized"},
		{"GET", "/v1/no-such-route-canary", ts.AdminKey, "", "other", "404", "not_found"},
		{"DELETE", "/v1/chat/completions", ts.AdminKey, "", "other", "405", "method_not_allowed"},
		{"POST", "/v1/chat/completions", ts.AdminKey, `{"model":`, "chat", "400", "invalid_request"},
		{"POST", "/v1/chat/completions", ts.AdminKey, strings.Repeat("x", 11<<20), "chat", "413", "too_large"},
		{"POST", "/v1/chat/completions", ts.AdminKey, `{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}`, "chat", "404", "not_found"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		resp.Body.Close()
		if got := resp.Status[:3]; got != c.code {
			t.Fatalf("%s %s answered %s, want %s", c.method, c.path, resp.Status, c.code)
		}
	}
	m := ts.metrics(t)
	want := map[string]int{}
	for _, c := range cases {
		want[`route="`+c.route+`",model="",provider="",code="`+c.code+`",error_code="`+c.errCode+`"`]++
	}
	sample := regexp.MustCompile(`(?m)^octomesh_requests_total\{(.*),stream="false"\} (\d+)$`)
	got := map[string]int{}
	for _, s := range sample.FindAllStringSubmatch(m, -1) {
		n := 0
		for _, d := range s[2] {
			n = n*10 + int(d-'0')
		}
		got[s[1]] += n
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("octomesh_requests_total{%s} = %d, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want exactly %v", got, want)
	}
	log := ts.Stderr.Bytes()
	if n := bytes.Count(log, []byte("msg=request ")); n != len(cases) {
		t.Errorf("%d request lines logged, want %d:\n%s", n, len(cases), log)
	}
	if bytes.Contains(log, []byte("no-such-route-canary")) {
		t.Errorf("the log holds the refused request's path (a refusal logs its code, not its message):\n%s", log)
	}
	if !bytes.Contains(log, []byte("route=other")) || !bytes.Contains(log, []byte("status=401")) || !bytes.Contains(log, []byte("code=unauthorized")) {
		t.Errorf("the refusals' log lines lack route, status or code:\n%s", log)
	}
}
