package httpapi

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// TestAdminDocs keeps docs/admin-api.md and the code in step: the role
// table is octomesh.AccessTable, and every authenticated route is listed
// with the permission its route-table entry declares (and enforces, which
// the isolation matrix in cmd/octomesh checks), and no other route is.
func TestAdminDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/admin-api.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start, end := "<!-- access-table:start -->\n", "<!-- access-table:end -->"
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/admin-api.md lacks the access-table markers")
	}
	if got, want := doc[i+len(start):j], octomesh.AccessTableMarkdown(); got != want {
		t.Errorf("the role table in docs/admin-api.md differs from octomesh.AccessTable; replace it with:\n%s", want)
	}

	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `((?:GET|POST|PUT|PATCH|DELETE) [^`]+)` \\|").FindAllStringSubmatch(doc, -1) {
		documented[m[1]] = true
	}
	s := New(Options{})
	routes := map[string]bool{}
	for _, rt := range s.Routes() {
		routes[rt.Pattern] = true
		if !rt.Auth {
			continue
		}
		needs := "any key"
		switch {
		case rt.Self != "":
			needs = "`" + string(rt.Perm) + "`, or `" + string(rt.Self) + "` for the caller's own keys"
		case rt.Perm != "":
			needs = "`" + string(rt.Perm) + "`"
		}
		if row := "| `" + rt.Pattern + "` | " + needs + " |"; !strings.Contains(doc, row) {
			t.Errorf("docs/admin-api.md lacks the row %q", row)
		}
	}
	for p := range documented {
		if !routes[p] {
			t.Errorf("docs/admin-api.md documents %q, which is not a route", p)
		}
	}
}

// TestAuthorizeOrder checks the access middleware's order on a server
// without a store: a foreign organisation is 404 whatever the role; a
// missing permission in the caller's own organisation is 403; a principal
// without a role has no admin powers.
func TestAuthorizeOrder(t *testing.T) {
	for _, tt := range []struct {
		name      string
		p         *octomesh.Principal
		method    string
		path      string
		wantCode  int
		wantInMsg string
	}{
		{"foreign org, viewer", &octomesh.Principal{OrgID: "a", Role: octomesh.RoleViewer}, "DELETE", "/v1/orgs/b", 404, "organisation not found"},
		{"foreign org, owner", &octomesh.Principal{OrgID: "a", Role: octomesh.RoleOwner}, "GET", "/v1/orgs/b/keys", 404, "organisation not found"},
		{"own org, viewer deletes", &octomesh.Principal{OrgID: "a", Role: octomesh.RoleViewer}, "DELETE", "/v1/orgs/a", 403, "org:delete"},
		{"own org, member lists users", &octomesh.Principal{OrgID: "a", Role: octomesh.RoleMember}, "GET", "/v1/orgs/a/users", 403, "users:read"},
		{"member without a user manages keys", &octomesh.Principal{OrgID: "a", Role: octomesh.RoleMember}, "GET", "/v1/orgs/a/keys", 403, "keys:read"},
		{"no role", &octomesh.Principal{OrgID: "a"}, "GET", "/v1/orgs/a", 403, "role (none)"},
		{"viewer chats", &octomesh.Principal{OrgID: "a", Role: octomesh.RoleViewer}, "POST", "/v1/chat/completions", 403, "models:use"},
		{"billing lists models", &octomesh.Principal{OrgID: "a", Role: octomesh.RoleBilling}, "GET", "/v1/models", 403, "models:use"},
		{"admin API disabled", &octomesh.Principal{OrgID: "a", Role: octomesh.RoleOwner}, "GET", "/v1/orgs/a", 404, "not enabled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Service: &fakeService{}, Auth: principalAuth{tt.p}})
			w := do(t, s, tt.method, tt.path, "")
			if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantInMsg) {
				t.Errorf("%s %s: %d %s; want %d mentioning %q", tt.method, tt.path, w.Code, w.Body, tt.wantCode, tt.wantInMsg)
			}
		})
	}
}

// principalAuth authenticates every key as one principal.
type principalAuth struct{ p *octomesh.Principal }

func (a principalAuth) Authenticate(context.Context, string) (*octomesh.Principal, error) {
	return a.p, nil
}
