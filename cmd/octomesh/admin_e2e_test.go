package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
	"github.com/octomesh/octomesh/internal/storetest"
)

// TestAdminAPI walks the admin API as its users would, on both stores,
// then scans everything the server wrote for the keys it handed out.
func TestAdminAPI(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ts := startAdminServer(t, b.dsn(t))
			var raws []string // every key the test saw, for the canary scan
			keep := func(k string) string { raws = append(raws, k); return k }
			keep(ts.AdminKey)
			chat := samples["POST /v1/chat/completions"].body

			// The bootstrap key is the first organisation's owner and an operator.
			var me struct {
				OrgID    string   `json:"org_id"`
				Role     string   `json:"role"`
				Operator bool     `json:"operator"`
				Perms    []string `json:"permissions"`
			}
			ts.must(t, 200, ts.AdminKey, "GET", "/v1/me", "", &me)
			if me.OrgID != "default" || me.Role != "owner" || !me.Operator || !contains(me.Perms, "orgs:create") {
				t.Errorf("bootstrap key = %+v", me)
			}

			org := ts.newOrg(t, "Acme", "Ann Owner", "ann@acme.example")
			owner := keep(org.OwnerKey.Key)
			if !apikey.WellFormed(owner) || org.OwnerKey.Prefix != owner[:apikey.PrefixLen] {
				t.Errorf("owner key %q (prefix %q) is not in the recognisable format", owner, org.OwnerKey.Prefix)
			}
			base := "/v1/orgs/" + org.ID
			if r := ts.do(t, owner, "POST", "/v1/chat/completions", chat); r.Status != 200 {
				t.Fatalf("owner chat: %d %s", r.Status, r.Body)
			}
			// Organisation keys cannot create organisations.
			if r := ts.do(t, owner, "POST", "/v1/orgs", samples["POST /v1/orgs"].body); r.Status != 403 {
				t.Errorf("owner creating an organisation: %d, want 403", r.Status)
			}

			admin, adminKey := ts.newMember(t, owner, org.ID, "Ada Admin", "ada@acme.example", "admin")
			keep(adminKey.Key)
			member, memberKey := ts.newMember(t, owner, org.ID, "Max Member", "max@acme.example", "member")
			keep(memberKey.Key)
			_, viewerKey := ts.newMember(t, owner, org.ID, "Vi Viewer", "vi@acme.example", "viewer")
			keep(viewerKey.Key)

			// Viewers and billing keys cannot spend.
			if r := ts.do(t, viewerKey.Key, "POST", "/v1/chat/completions", chat); r.Status != 403 {
				t.Errorf("viewer chat: %d, want 403", r.Status)
			}
			// Nobody grants more than they have.
			for _, c := range []struct {
				key, method, path, body string
			}{
				{adminKey.Key, "POST", base + "/keys", `{"name":"x","role":"owner"}`},
				{adminKey.Key, "PUT", base + "/members/" + admin.ID, `{"role":"owner"}`},
				{adminKey.Key, "PUT", base + "/members/" + org.Owner.ID, `{"role":"member"}`},
				{adminKey.Key, "DELETE", base + "/members/" + org.Owner.ID, ``},
				{adminKey.Key, "DELETE", base + "/users/" + org.Owner.ID, ``},
				{adminKey.Key, "POST", base + "/keys/" + org.OwnerKey.ID + "/revoke", ``},
				{memberKey.Key, "POST", base + "/keys", `{"name":"x","role":"admin"}`},
				{memberKey.Key, "POST", base + "/keys", `{"name":"x","user_id":"` + admin.ID + `"}`},
				{memberKey.Key, "POST", base + "/keys/" + adminKey.ID + "/revoke", ``},
			} {
				if r := ts.do(t, c.key, c.method, c.path, c.body); r.Status != 403 {
					t.Errorf("%s %s %s: %d, want 403: %s", c.method, c.path, c.body, r.Status, r.Body)
				}
			}

			// A member manages their own keys, and sees only those.
			var own apiKey
			ts.must(t, 201, memberKey.Key, "POST", base+"/keys", `{"name":"laptop","scopes":{"models":["sim/gpt-4o-mini"],"rpm":10}}`, &own)
			keep(own.Key)
			if own.UserID != member.ID || own.Role != "member" {
				t.Errorf("member's own key = %+v", own)
			}
			var listed apiList[apiKey]
			ts.must(t, 200, memberKey.Key, "GET", base+"/keys", "", &listed)
			for _, k := range listed.Data {
				if k.UserID != member.ID {
					t.Errorf("a member sees key %s of user %s", k.ID, k.UserID)
				}
				if k.Key != "" {
					t.Errorf("a listing shows a key's secret")
				}
			}
			if len(listed.Data) != 2 {
				t.Errorf("the member sees %d keys, want their 2", len(listed.Data))
			}
			// A scoped key cannot mint an unscoped one: scopes narrow.
			var child struct {
				Key    string             `json:"key"`
				Scopes octomesh.KeyScopes `json:"scopes"`
			}
			ts.must(t, 201, keep(own.Key), "POST", base+"/keys", `{"name":"child","scopes":{"tpm":5000}}`, &child)
			keep(child.Key)
			if !slicesEqual(child.Scopes.Models, []string{"sim/gpt-4o-mini"}) || child.Scopes.RPM != 10 || child.Scopes.TPM != 5000 {
				t.Errorf("child scopes = %+v, want the parent's models and rpm", child.Scopes)
			}
			// The allow-list reaches the gateway.
			if r := ts.do(t, own.Key, "POST", "/v1/chat/completions", strings.Replace(chat, "sim/gpt-4o-mini", "sim/gpt-4o", 1)); r.Status < 400 {
				t.Errorf("a key scoped to sim/gpt-4o-mini used sim/gpt-4o: %d", r.Status)
			}

			// Revocation is effective at once on this node, and says no more than any bad key.
			ts.must(t, 200, memberKey.Key, "POST", base+"/keys/"+own.ID+"/revoke", "", nil)
			revoked := ts.do(t, own.Key, "POST", "/v1/chat/completions", chat)
			unknown := ts.do(t, "om_"+strings.Repeat("x", 38), "POST", "/v1/chat/completions", chat)
			if revoked.Status != 401 || string(revoked.Body) != string(unknown.Body) {
				t.Errorf("revoked key: %d %s; unknown key: %d %s", revoked.Status, revoked.Body, unknown.Status, unknown.Body)
			}

			// Rotation with an overlap: both keys work until it ends; without one, the old key stops at once.
			var next apiKey
			ts.must(t, 201, owner, "POST", base+"/keys/"+adminKey.ID+"/rotate", `{"overlap":"1h"}`, &next)
			keep(next.Key)
			for _, k := range []string{adminKey.Key, next.Key} {
				if r := ts.do(t, k, "GET", base, ""); r.Status != 200 {
					t.Errorf("during the overlap: %d", r.Status)
				}
			}
			var third apiKey
			ts.must(t, 201, next.Key, "POST", base+"/keys/"+next.ID+"/rotate", ``, &third)
			keep(third.Key)
			if r := ts.do(t, next.Key, "GET", base, ""); r.Status != 401 {
				t.Errorf("rotated without overlap, old key: %d, want 401", r.Status)
			}
			if r := ts.do(t, third.Key, "GET", base, ""); r.Status != 200 {
				t.Errorf("successor: %d", r.Status)
			}

			// Removing a member revokes their keys at once.
			ts.must(t, 200, owner, "DELETE", base+"/members/"+member.ID, "", nil)
			if r := ts.do(t, memberKey.Key, "GET", "/v1/me", ""); r.Status != 401 {
				t.Errorf("key of a removed member: %d, want 401", r.Status)
			}

			// Settings reach the request path at once: an allow-list on the organisation.
			ts.must(t, 200, owner, "PATCH", base, `{"settings":{"allowed_models":["sim/claude-3-haiku"]}}`, nil)
			if r := ts.do(t, owner, "POST", "/v1/chat/completions", chat); r.Status < 400 {
				t.Errorf("the organisation allows only sim/claude-3-haiku, sim/gpt-4o-mini answered %d", r.Status)
			}

			// Hostile strings are refused, not stored.
			for _, body := range []string{
				`{"name":"Eve\nlevel=INFO msg=\"forged\""}`, `{"name":"Eve\u001b[31m"}`, `{"name":"\u202eevE"}`,
			} {
				if r := ts.do(t, owner, "POST", base+"/users", body); r.Status != 400 {
					t.Errorf("POST users %s: %d, want 400", body, r.Status)
				}
			}

			// Export (the right of access) and erasure.
			var export struct {
				User       apiUser  `json:"user"`
				Membership any      `json:"membership"`
				APIKeys    []apiKey `json:"api_keys"`
				Audit      []struct {
					Action string `json:"action"`
				} `json:"audit"`
			}
			ts.must(t, 200, owner, "GET", base+"/users/"+admin.ID+"/export", "", &export)
			if export.User.Email != "ada@acme.example" || export.Membership == nil || len(export.APIKeys) != 3 || len(export.Audit) == 0 {
				t.Errorf("export = %+v", export)
			}
			ts.must(t, 200, owner, "DELETE", base+"/users/"+admin.ID, "", nil)
			if r := ts.do(t, third.Key, "GET", base, ""); r.Status != 401 {
				t.Errorf("key of an erased user: %d, want 401", r.Status)
			}

			// The audit log tells who did what, from where, without secrets.
			var audit apiList[struct {
				Action string `json:"action"`
				Actor  struct {
					Type   string `json:"type"`
					KeyID  string `json:"key_id"`
					Source string `json:"source"`
				} `json:"actor"`
				Target string `json:"target"`
			}]
			ts.must(t, 200, owner, "GET", base+"/audit?limit=1000", "", &audit)
			seen := map[string]bool{}
			for _, e := range audit.Data {
				seen[e.Action] = true
				if e.Actor.Type == "key" && (e.Actor.KeyID == "" || e.Actor.Source != "127.0.0.1") {
					t.Errorf("entry %s lacks who or where: %+v", e.Action, e.Actor)
				}
			}
			for _, a := range []string{"org.created", "key.created", "key.revoked", "key.rotated", "member.added", "member.removed", "org.updated", "user.exported", "user.deleted"} {
				if !seen[a] {
					t.Errorf("no %s entry in the audit log", a)
				}
			}
			if audit.Data[len(audit.Data)-1].Actor.Type != "operator" {
				t.Errorf("the operator's org.created entry shows %+v, want the operator without ids", audit.Data[len(audit.Data)-1].Actor)
			}
			out, err := ts.cli(t, "audit", "verify")
			if err != nil || !strings.Contains(out, "audit log intact") {
				t.Errorf("audit verify: %v\n%s", err, out)
			}
			auditOut, err := ts.cli(t, "audit", "list", "--limit", "1000")
			if err != nil {
				t.Fatal(err)
			}
			var apiAudit bytes.Buffer
			apiAudit.Write(ts.do(t, ts.AdminKey, "GET", "/v1/orgs/default/audit?limit=1000", "").Body)
			apiAudit.Write(ts.do(t, owner, "GET", base+"/audit?limit=1000", "").Body)

			// Canary scan: no key the server handed out appears in its database
			// (SQLite files, WAL included, or every PostgreSQL table), its logs,
			// or the audit log. The scanner proves itself on the keys it knows.
			places := map[string][]byte{
				"server log":      append(ts.Stderr.Bytes(), ts.Stdout.Bytes()...),
				"audit log (CLI)": []byte(auditOut), "audit log (API)": apiAudit.Bytes(),
			}
			for name, b := range dumpDatabase(t, ts) {
				places[name] = b
			}
			if len(places) < 4 {
				t.Fatalf("nothing to scan: %v", places)
			}
			found := false
			for name, b := range places {
				for _, k := range raws {
					if k != "" && bytes.Contains(b, []byte(k)) {
						t.Errorf("a raw API key (%s…) appears in %s", k[:8], name)
					}
					if bytes.Contains(b, []byte(k[:apikey.PrefixLen])) {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("positive control: no key prefix anywhere; the scan reads nothing")
			}
		})
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// dumpDatabase returns the bytes of the server's database: every SQLite
// file in the data directory, or a text dump of every table of the
// PostgreSQL schema.
func dumpDatabase(t *testing.T, ts *adminServer) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if ts.DSN == "" {
		filepath.WalkDir(ts.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				out[filepath.Base(path)] = b
			}
			return nil
		})
		return out
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, ts.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tbl := range tables {
		var b bytes.Buffer
		r, err := c.Query(ctx, "SELECT t::text FROM "+pgx.Identifier{tbl}.Sanitize()+" t")
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var s string
			r.Scan(&s)
			b.WriteString(s + "\n")
		}
		r.Close()
		out["table "+tbl] = b.Bytes()
	}
	return out
}

// TestRevocationAcrossNodes runs two servers on one database and checks the
// stated bound: a key revoked on one node (or with the CLI) stops working
// on the other within apikey.RefreshInterval, plus a round trip.
func TestRevocationAcrossNodes(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn, dir := b.dsn(t), t.TempDir()
			adminKey := "om-admin-test-" + randomHex(t, 16)
			node1 := startAdminNode(t, dsn, dir, adminKey)
			org := node1.newOrg(t, "Two nodes", "Owner", "owner@two.example")
			_, k := node1.newMember(t, org.OwnerKey.Key, org.ID, "M", "m@two.example", "member")
			_, k2 := node1.newMember(t, org.OwnerKey.Key, org.ID, "N", "n@two.example", "member")
			node2 := startAdminNode(t, dsn, dir, adminKey)
			for _, key := range []string{k.Key, k2.Key} {
				if r := node2.do(t, key, "GET", "/v1/me", ""); r.Status != 200 {
					t.Fatalf("node 2 does not know a key created before it started: %d", r.Status)
				}
			}

			start := time.Now()
			node1.must(t, 200, org.OwnerKey.Key, "POST", "/v1/orgs/"+org.ID+"/keys/"+k.ID+"/revoke", "", nil)
			if r := node1.do(t, k.Key, "GET", "/v1/me", ""); r.Status != 401 {
				t.Fatalf("the revoking node still accepts the key: %d", r.Status)
			}
			waitStatus(t, node2, k.Key, 401)
			t.Logf("%s: node 2 refused the revoked key after %v (bound %v)", b.name, time.Since(start).Round(time.Millisecond), apikey.RefreshInterval)

			// The CLI works on the database directly; servers follow within the bound.
			if out, err := node1.cli(t, "keys", "revoke", "--org", org.ID, "--key", k2.ID); err != nil {
				t.Fatalf("keys revoke: %v\n%s", err, out)
			}
			waitStatus(t, node1, k2.Key, 401)
			waitStatus(t, node2, k2.Key, 401)
		})
	}
}

// waitStatus polls GET /v1/me with key until it answers want, failing after
// the revocation bound (the refresh interval plus a generous round trip).
func waitStatus(t *testing.T, ts *adminServer, key string, want int) {
	t.Helper()
	deadline := time.Now().Add(apikey.RefreshInterval + 2*time.Second)
	for {
		r := ts.do(t, key, "GET", "/v1/me", "")
		if r.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d after %v, want %d", r.Status, apikey.RefreshInterval+2*time.Second, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAuditVerifyDetectsTampering edits and deletes audit entries in the
// database behind the server's back, as an intruder would, and checks that
// `octomesh audit verify` fails naming the entry.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name, sqlite, postgres, want string
			}{
				{"edit", `UPDATE audit_log SET target = 'usr_innocent' WHERE seq = 5`, `UPDATE audit_log SET target = 'usr_innocent' WHERE seq = 5`, "entry 5 does not match its hash"},
				{"delete", `DELETE FROM audit_log WHERE seq = 6`, `DELETE FROM audit_log WHERE seq = 6`, "entries 6 to 6 are missing"},
				{"delete the newest", `DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)`, `DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)`, "entries at the end"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ts := startAdminServer(t, b.dsn(t))
					org := ts.newOrg(t, "Tampered", "Owner", "o@t.example")
					ts.newMember(t, org.OwnerKey.Key, org.ID, "M", "m@t.example", "admin")
					if out, err := ts.cli(t, "audit", "verify"); err != nil {
						t.Fatalf("before tampering: %v\n%s", err, out)
					}
					if ts.DSN == "" {
						db, err := sql.Open("sqlite", "file:"+filepath.Join(ts.DataDir, "octomesh.db"))
						if err != nil {
							t.Fatal(err)
						}
						for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`, tc.sqlite} {
							if _, err := db.Exec(q); err != nil {
								t.Fatal(err)
							}
						}
						db.Close()
					} else {
						storetest.PostgresExec(t, ts.DSN, `ALTER TABLE audit_log DISABLE TRIGGER USER`)
						storetest.PostgresExec(t, ts.DSN, tc.postgres)
					}
					out, err := ts.cli(t, "audit", "verify")
					if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 1 {
						t.Errorf("after tampering: err = %v (exit %d), want one naming %q\n%s", err, exitCode(err), tc.want, out)
					}
				})
			}
		})
	}
}

// TestBootstrapKeyPrintedOnce starts a server without OCTOMESH_ADMIN_KEY:
// the first start prints a new operator key once, the second prints none.
func TestBootstrapKeyPrintedOnce(t *testing.T) {
	dir := t.TempDir()
	keyRE := regexp.MustCompile(`om_[0-9A-Za-z]{38}`)
	first := startAdminNode(t, "", dir, "")
	raw := keyRE.FindString(string(first.Stdout.Bytes()))
	if raw == "" || !apikey.WellFormed(raw) {
		t.Fatalf("first start printed no key:\n%s", first.Stdout.Bytes())
	}
	var me struct {
		OrgID    string `json:"org_id"`
		Role     string `json:"role"`
		Operator bool   `json:"operator"`
	}
	first.must(t, 200, raw, "GET", "/v1/me", "", &me)
	if me.OrgID != "default" || me.Role != "owner" || !me.Operator {
		t.Errorf("bootstrap key = %+v", me)
	}
	var members apiList[struct {
		Role string `json:"role"`
	}]
	first.must(t, 200, raw, "GET", "/v1/orgs/default/members", "", &members)
	if len(members.Data) != 1 || members.Data[0].Role != "owner" {
		t.Errorf("the default organisation's members = %+v, want one owner", members.Data)
	}
	second := startAdminNode(t, "", dir, "")
	if keyRE.Match(second.Stdout.Bytes()) {
		t.Errorf("the second start printed a key:\n%s", second.Stdout.Bytes())
	}
	second.must(t, 200, raw, "GET", "/v1/me", "", nil)
}

// TestAdminCLI drives `octomesh orgs|users|members|keys|audit` against a
// data directory, with no server.
func TestAdminCLI(t *testing.T) {
	dir := t.TempDir()
	getenv := func(string) string { return "" }
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append(args, "--data-dir", dir), getenv, &out, &out)
		return out.String(), err
	}
	mustCLI := func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("octomesh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	idRE := func(prefix string) *regexp.Regexp { return regexp.MustCompile(prefix + `_[0-9a-f]{20}`) }
	out := mustCLI("orgs", "create", "--name", "Acme", "--owner-name", "Ann", "--owner-email", "Ann@Acme.example", "--regions", "eu,us", "--no-training")
	org := idRE("org").FindString(out)
	if org == "" || !apikey.WellFormed(regexp.MustCompile(`om_\w{38}`).FindString(out)) || !strings.Contains(out, "regions=eu,us") {
		t.Fatalf("orgs create:\n%s", out)
	}
	if out := mustCLI("orgs", "list"); !strings.Contains(out, org) || !strings.Contains(out, "Acme") {
		t.Errorf("orgs list:\n%s", out)
	}
	mustCLI("orgs", "update", "--org", org, "--name", "Acme Ltd", "--zero-retention")
	if out := mustCLI("orgs", "show", "--org", org); !strings.Contains(out, "Acme Ltd") || !strings.Contains(out, "zero_retention=true no_training=true") {
		t.Errorf("orgs show after update:\n%s", out)
	}
	out = mustCLI("users", "create", "--org", org, "--name", "Bob", "--email", "bob@acme.example", "--role", "admin")
	bob := idRE("usr").FindString(out)
	if out := mustCLI("users", "list", "--org", org); !strings.Contains(out, "bob@acme.example") || !strings.Contains(out, "admin") {
		t.Errorf("users list:\n%s", out)
	}
	out = mustCLI("keys", "create", "--org", org, "--name", "ci", "--user", bob, "--role", "member", "--models", "sim/gpt-4o", "--rpm", "60", "--expires-in", "24h")
	key := idRE("key").FindString(out)
	raw := regexp.MustCompile(`om_\w{38}`).FindString(out)
	if key == "" || raw == "" {
		t.Fatalf("keys create:\n%s", out)
	}
	if out := mustCLI("keys", "show", "--org", org, "--key", key); !strings.Contains(out, "models=sim/gpt-4o rpm=60") || strings.Contains(out, raw) {
		t.Errorf("keys show:\n%s", out)
	}
	out = mustCLI("keys", "rotate", "--org", org, "--key", key, "--overlap", "1h")
	if next := regexp.MustCompile(`om_\w{38}`).FindString(out); next == "" || next == raw || !strings.Contains(out, "keeps working until") {
		t.Errorf("keys rotate:\n%s", out)
	}
	mustCLI("members", "set", "--org", org, "--user", bob, "--role", "viewer")
	if out := mustCLI("members", "list", "--org", org, "--role", "viewer"); !strings.Contains(out, bob) {
		t.Errorf("members list:\n%s", out)
	}
	out = mustCLI("users", "export", "--org", org, "--user", bob)
	var export map[string]any
	if err := json.Unmarshal([]byte(out), &export); err != nil || !strings.Contains(out, "bob@acme.example") {
		t.Errorf("users export: %v\n%s", err, out)
	}
	if _, err := cli("users", "delete", "--org", org, "--user", bob); err == nil || exitCode(err) != 2 {
		t.Errorf("users delete without --yes: %v", err)
	}
	mustCLI("users", "delete", "--org", org, "--user", bob, "--yes")
	out = mustCLI("audit", "list", "--org", org)
	for _, a := range []string{"org.created", "org.updated", "user.created", "key.created", "key.rotated", "member.role_changed", "user.exported", "user.deleted"} {
		if !strings.Contains(out, a) {
			t.Errorf("audit list lacks %s:\n%s", a, out)
		}
	}
	if strings.Contains(out, raw) {
		t.Errorf("the audit list shows a key")
	}
	if out := mustCLI("audit", "verify"); !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify:\n%s", out)
	}
	// Mistakes are usage errors (exit 2) that name what is missing; store refusals are errors.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"keys"}, 2, "usage: octomesh keys"},
		{[]string{"keys", "frobnicate"}, 2, "unknown command"},
		{[]string{"keys", "create", "--org", org}, 2, "missing --name"},
		{[]string{"orgs", "delete", "--org", org}, 2, "--yes"},
		{[]string{"members", "remove", "--org", org, "--user", "usr_nope"}, 1, "membership not found"},
		{[]string{"keys", "create", "--org", "org_nope", "--name", "x"}, 1, "organisation not found"},
	} {
		_, err := cli(c.args...)
		if err == nil || exitCode(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("octomesh %s: err %v (exit %d), want exit %d mentioning %q", strings.Join(c.args, " "), err, exitCode(err), c.code, c.want)
		}
	}
	mustCLI("orgs", "delete", "--org", org, "--yes")
	if _, err := cli("orgs", "show", "--org", org); err == nil {
		t.Errorf("a deleted organisation is still shown")
	}
}

// TestSafeOutput checks that stored strings cannot send terminal escapes or
// forge lines in the CLI's output.
func TestSafeOutput(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              "plain",
		"two\nlines":         `two\nlines`,
		"\x1b[2Jcleared":     `\x1b[2Jcleared`,
		"rtl\u202eevil":      `rtl\u202eevil`,
		`back\slash`:         `back\\slash`,
		string([]byte{0xff}): `\ufffd`,
		"tab\tseparated\rcr": `tab\tseparated\rcr`,
	} {
		if got := safe(in); got != want {
			t.Errorf("safe(%q) = %q, want %q", in, got, want)
		}
	}
}
