package router

import (
	"testing"
	"unsafe"

	"github.com/octomesh/octomesh"
)

// A decision lives as long as its stream; naming the model with the
// request's own string kept the decoded request's text (its prompt, in
// the same allocation when short) alive with it. A deployment's or
// group's name is recorded with the config's string; others (an alias)
// as asked.
func TestDecisionNamesTheModelWithTheConfigsString(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}, Aliases: map[string]string{"b": "a"}})
	for _, name := range []string{"a", "b"} {
		req := chat(string([]byte(name))) // a string of the request's own
		p, err := r.Decide(req, octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatalf("Decide %q: %v", name, err)
		}
		got := p.Decision.Requested
		if got != name {
			t.Fatalf("Requested %q, want %q", got, name)
		}
		if name == "a" && unsafe.StringData(got) == unsafe.StringData(req.Model) {
			t.Errorf("Requested %q is the request's string, not the config's", name)
		}
	}
}
