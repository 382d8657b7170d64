package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

func testAudit(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	a := newWorld(t, s, "org_a")
	newWorld(t, s, "org_b")
	addMember(t, s, "org_a", "usr_1", octomesh.RoleAdmin)
	k, raw := createKey(t, s, "org_a", "usr_1", octomesh.RoleMember)
	if err := s.SetMember(ctx, &octomesh.Membership{OrgID: "org_a", UserID: "usr_1", Role: octomesh.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, "org_a", k.ID); err != nil {
		t.Fatal(err)
	}
	// Actions outside the store are appended with the caller's actor.
	exportCtx := octomesh.WithActor(context.Background(), octomesh.Actor{Type: "cli", Source: "cli"})
	if err := s.AppendAudit(exportCtx, &octomesh.AuditEntry{OrgID: "org_a", Action: octomesh.AuditUserExported, Target: "usr_1"}); err != nil {
		t.Fatal(err)
	}

	want := []string{
		octomesh.AuditOrgCreated, octomesh.AuditUserCreated, octomesh.AuditMemberAdded, octomesh.AuditKeyCreated,
		octomesh.AuditUserCreated, octomesh.AuditMemberAdded, octomesh.AuditKeyCreated, octomesh.AuditMemberRoleChange,
		octomesh.AuditKeyRevoked, octomesh.AuditUserExported,
	}
	if got := actions(t, s, "org_a"); !cmp.Equal(got, want) {
		t.Errorf("org_a's audit actions:\n got %v\nwant %v", got, want)
	}
	es, err := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	latest := es[0]
	if latest.Actor != (octomesh.Actor{Type: "cli", Source: "cli"}) || latest.Target != "usr_1" || !latest.Time.Equal(clock.Now()) {
		t.Errorf("latest entry = %+v", latest)
	}
	if es[1].Actor != octomesh.ActorFrom(ctx) {
		t.Errorf("actor = %+v, want the context's %+v", es[1].Actor, octomesh.ActorFrom(ctx))
	}
	// No secrets: neither the raw key nor its hash appears in any entry.
	for _, e := range es {
		dump := fmt.Sprintf("%v %v %v %v %v %v", e.OrgID, e.Actor, e.Action, e.Target, e.Details, e.Time)
		if strings.Contains(dump, raw.Reveal()) || strings.Contains(dump, k.Prefix) || bytes.Contains([]byte(dump), k.Hash) {
			t.Errorf("audit entry %d holds key material: %s", e.Seq, dump)
		}
	}

	// Filters and paging.
	byTarget, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Target: k.ID})
	if got := auditActions(byTarget); !cmp.Equal(got, []string{octomesh.AuditKeyRevoked, octomesh.AuditKeyCreated}) {
		t.Errorf("by target = %v", got)
	}
	byAction, _ := s.ListAudit(ctx, octomesh.AuditFilter{Action: octomesh.AuditOrgCreated})
	if len(byAction) != 2 || byAction[0].OrgID != "org_b" {
		t.Errorf("by action across orgs = %+v", byAction)
	}
	page1, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Limit: 3})
	page2, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Limit: 3, Before: page1[2].Seq})
	if len(page1) != 3 || len(page2) != 3 || page2[0].Seq >= page1[2].Seq {
		t.Errorf("paging: %v then %v", seqs(page1), seqs(page2))
	}
	clock.Advance(time.Hour)
	if err := s.RevokeKey(ctx, "org_a", a.ownerKey.ID); err != nil {
		t.Fatal(err)
	}
	recent, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Since: clock.Now()})
	if got := auditActions(recent); !cmp.Equal(got, []string{octomesh.AuditKeyRevoked}) {
		t.Errorf("since = %v", got)
	}

	rep, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := s.ListAudit(ctx, octomesh.AuditFilter{Limit: 1000})
	if !rep.OK() || rep.Entries != int64(len(all)) || rep.HeadSeq != all[0].Seq || !bytes.Equal(rep.HeadHash, all[0].Hash) {
		t.Errorf("VerifyAudit = %+v, want an intact chain of %d entries", rep, len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Seq != all[i].Seq+1 || !bytes.Equal(all[i-1].PrevHash, all[i].Hash) {
			t.Errorf("entries %d and %d are not chained", all[i].Seq, all[i-1].Seq)
		}
	}
}

func auditActions(es []*octomesh.AuditEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

func seqs(es []*octomesh.AuditEntry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// testAuditTamper edits and deletes entries as someone with direct access
// to the database would, and checks VerifyAudit notices each time.
func testAuditTamper(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, h *Harness)
		problem string
	}{
		{"edit an entry", func(t *testing.T, h *Harness) { h.EditAuditEntry(t, 3, octomesh.AuditKeyCreated) }, "entry 3 does not match its hash"},
		{"delete an entry", func(t *testing.T, h *Harness) { h.DeleteAuditEntry(t, 4) }, "entries 4 to 4 are missing"},
		{"delete the first entry", func(t *testing.T, h *Harness) { h.DeleteAuditEntry(t, 1) }, "entries 1 to 1 are missing"},
		{"delete the last entry", func(t *testing.T, h *Harness) { h.DeleteAuditEntry(t, 6) }, "the log ends at entry 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := open(t, NewClock().Now)
			newWorld(t, h.Store, "org_a") // entries 1-4
			addMember(t, h.Store, "org_a", "usr_1", octomesh.RoleViewer)
			rep, err := h.Store.VerifyAudit(context.Background())
			if err != nil || !rep.OK() || rep.Entries != 6 {
				t.Fatalf("before tampering: %+v, %v", rep, err)
			}
			tc.tamper(t, h)
			rep, err = h.Store.VerifyAudit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || !strings.Contains(rep.Problem, tc.problem) {
				t.Errorf("after tampering: problem %q, want one mentioning %q", rep.Problem, tc.problem)
			}
		})
	}
}

// testAuditInjection stores hostile strings where user input reaches the
// audit log and checks they come back escaped: no raw newlines, no terminal
// escapes, no bidi overrides, and the chain still verifies.
func testAuditInjection(t *testing.T, open Opener) {
	s := open(t, NewClock().Now).Store
	newWorld(t, s, "org_a")
	hostile := "10.0.0.1\n2026-03-01T12:00:00Z org.deleted actor=root\x1b[2J\u202e"
	ctx := octomesh.WithActor(context.Background(), octomesh.Actor{Type: "key", KeyID: "key_x", Source: hostile})
	if err := s.AppendAudit(ctx, &octomesh.AuditEntry{OrgID: "org_a", Action: octomesh.AuditUserExported, Target: "usr\r\nx",
		Details: map[string]string{"note\n": "a\tb"}}); err != nil {
		t.Fatal(err)
	}
	es, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Limit: 1})
	e := es[0]
	for _, v := range []string{e.Actor.Source, e.Target, fmt.Sprint(e.Details)} {
		if strings.ContainsAny(v, "\n\r\t\x1b\u202e") {
			t.Errorf("audit field holds a raw control character: %q", v)
		}
	}
	if want := `10.0.0.1\n2026-03-01T12:00:00Z org.deleted actor=root\x1b[2J\u202e`; e.Actor.Source != want {
		t.Errorf("source = %q, want %q", e.Actor.Source, want)
	}
	if rep, _ := s.VerifyAudit(ctx); !rep.OK() {
		t.Errorf("chain broken after hostile input: %s", rep.Problem)
	}
}

// testConcurrentWriters runs writers in parallel: every change lands, the
// chain has no gaps and the revisions handed out are unique.
func testConcurrentWriters(t *testing.T, open Opener) {
	s := open(t, NewClock().Now).Store
	newWorld(t, s, "org_a")
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	keys := make([]*octomesh.APIKey, n)
	for i := range n {
		keys[i] = mustKey(t, "org_a")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.CreateKey(actorCtx(), keys[i]); err != nil {
				errs <- err
				return
			}
			errs <- s.CreateUser(actorCtx(), &octomesh.User{ID: fmt.Sprintf("usr_%d", i), OrgID: "org_a", Name: "U"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	revs := map[int64]bool{}
	for _, k := range keys {
		if revs[k.Rev] {
			t.Errorf("revision %d handed out twice", k.Rev)
		}
		revs[k.Rev] = true
	}
	rep, err := s.VerifyAudit(context.Background())
	if err != nil || !rep.OK() || rep.Entries != 4+2*n {
		t.Errorf("VerifyAudit after concurrent writes = %+v, %v; want %d intact entries", rep, err, 4+2*n)
	}
}
