package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

func testBudgets(t *testing.T, open Opener) {
	clock := NewClock()
	s, _ := openMeter(t, open, clock)
	ctx := actorCtx()
	newWorld(t, s, "org_a")
	newWorld(t, s, "org_b")
	created := clock.Now()

	orgBudget := &octomesh.Budget{ID: "bud_org", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodMonth, Limit: 100 * octomesh.Dollar, Hard: true}
	keyBudget := &octomesh.Budget{ID: "bud_key", OrgID: "org_a", Name: "Key 1 daily", Scope: octomesh.ScopeKey, Subject: "key_1",
		Period: octomesh.PeriodDay, Limit: 5 * octomesh.Dollar, AlertPercent: 50}
	bBudget := &octomesh.Budget{ID: "bud_b", OrgID: "org_b", Scope: octomesh.ScopeProject, Subject: "proj_x", Period: octomesh.PeriodTotal, Limit: octomesh.Dollar}
	for _, b := range []*octomesh.Budget{orgBudget, keyBudget, bBudget} {
		if err := s.CreateBudget(ctx, b); err != nil {
			t.Fatalf("CreateBudget(%s): %v", b.ID, err)
		}
	}
	if orgBudget.AlertPercent != octomesh.DefaultAlertPercent || !orgBudget.CreatedAt.Equal(created) || !orgBudget.UpdatedAt.Equal(created) {
		t.Errorf("created budget = %+v, want the default alert percent and the store's times", orgBudget)
	}
	if keyBudget.AlertPercent != 50 {
		t.Errorf("alert percent = %d, want 50 kept", keyBudget.AlertPercent)
	}

	// Errors, with nothing stored or audited.
	for _, tc := range []struct {
		name string
		b    octomesh.Budget
		code octomesh.ErrorCode
	}{
		{"duplicate id", octomesh.Budget{ID: "bud_org", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1}, octomesh.EINVALID},
		{"duplicate id in another org", octomesh.Budget{ID: "bud_org", OrgID: "org_b", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1}, octomesh.EINVALID},
		{"unknown org", octomesh.Budget{ID: "bud_x", OrgID: "org_missing", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1}, octomesh.ENOTFOUND},
		{"no limit", octomesh.Budget{ID: "bud_x", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay}, octomesh.EINVALID},
		{"org with subject", octomesh.Budget{ID: "bud_x", OrgID: "org_a", Scope: octomesh.ScopeOrg, Subject: "k", Period: octomesh.PeriodDay, Limit: 1}, octomesh.EINVALID},
		{"key without subject", octomesh.Budget{ID: "bud_x", OrgID: "org_a", Scope: octomesh.ScopeKey, Period: octomesh.PeriodDay, Limit: 1}, octomesh.EINVALID},
		{"bad period", octomesh.Budget{ID: "bud_x", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: "week", Limit: 1}, octomesh.EINVALID},
		{"bad alert", octomesh.Budget{ID: "bud_x", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1, AlertPercent: 101}, octomesh.EINVALID},
		{"bad id", octomesh.Budget{ID: "bud x", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1}, octomesh.EINVALID},
		{"bad name", octomesh.Budget{ID: "bud_x", OrgID: "org_a", Name: "a\nb", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1}, octomesh.EINVALID},
	} {
		b := tc.b
		wantCode(t, tc.name, s.CreateBudget(ctx, &b), tc.code)
	}

	get := func(org, id string) *octomesh.Budget {
		t.Helper()
		b, err := s.Budget(ctx, org, id)
		if err != nil {
			t.Fatalf("Budget(%s, %s): %v", org, id, err)
		}
		return b
	}
	if diff := cmp.Diff(orgBudget, get("org_a", "bud_org")); diff != "" {
		t.Errorf("Budget(bud_org) (-want +got):\n%s", diff)
	}
	wantCode(t, "another org's budget", errOf(s.Budget(ctx, "org_b", "bud_org")), octomesh.ENOTFOUND)
	wantCode(t, "missing budget", errOf(s.Budget(ctx, "org_a", "bud_missing")), octomesh.ENOTFOUND)

	list := func(org string) []*octomesh.Budget {
		t.Helper()
		bs, err := s.Budgets(ctx, org)
		if err != nil {
			t.Fatalf("Budgets(%q): %v", org, err)
		}
		return bs
	}
	if diff := cmp.Diff([]*octomesh.Budget{keyBudget, orgBudget}, list("org_a")); diff != "" {
		t.Errorf("Budgets(org_a) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*octomesh.Budget{bBudget, keyBudget, orgBudget}, list("")); diff != "" {
		t.Errorf("Budgets(\"\") (-want +got):\n%s", diff)
	}
	if bs := list("org_missing"); len(bs) != 0 {
		t.Errorf("Budgets(org_missing) = %v", bs)
	}

	// Update replaces the mutable fields only.
	clock.Advance(time.Minute)
	upd := &octomesh.Budget{ID: "bud_key", OrgID: "org_a", Name: "Key 1, raised", Limit: 6 * octomesh.Dollar, Hard: true, AlertPercent: 90,
		Scope: octomesh.ScopeOrg, Period: octomesh.PeriodTotal} // scope and period are not mutable: ignored
	if err := s.UpdateBudget(ctx, upd); err != nil {
		t.Fatal(err)
	}
	want := *keyBudget
	want.Name, want.Limit, want.Hard, want.AlertPercent, want.UpdatedAt = "Key 1, raised", 6*octomesh.Dollar, true, 90, clock.Now()
	if diff := cmp.Diff(&want, get("org_a", "bud_key")); diff != "" {
		t.Errorf("after UpdateBudget (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&want, upd); diff != "" {
		t.Errorf("UpdateBudget's argument after the call (-want +got):\n%s", diff)
	}
	// Alert percent 0 is the default; an update that changes nothing is
	// not audited.
	same := want
	if err := s.UpdateBudget(ctx, &same); err != nil {
		t.Fatal(err)
	}
	dflt := want
	dflt.AlertPercent = 0
	if err := s.UpdateBudget(ctx, &dflt); err != nil || dflt.AlertPercent != octomesh.DefaultAlertPercent {
		t.Errorf("update to alert 0 = %+v, %v; want the default", dflt, err)
	}
	wantCode(t, "update in another org", s.UpdateBudget(ctx, &octomesh.Budget{ID: "bud_key", OrgID: "org_b", Limit: 1}), octomesh.ENOTFOUND)
	wantCode(t, "update missing", s.UpdateBudget(ctx, &octomesh.Budget{ID: "bud_missing", OrgID: "org_a", Limit: 1}), octomesh.ENOTFOUND)
	wantCode(t, "update to no limit", s.UpdateBudget(ctx, &octomesh.Budget{ID: "bud_key", OrgID: "org_a"}), octomesh.EINVALID)
	wantCode(t, "update to bad alert", s.UpdateBudget(ctx, &octomesh.Budget{ID: "bud_key", OrgID: "org_a", Limit: 1, AlertPercent: -1}), octomesh.EINVALID)
	if got := get("org_a", "bud_key"); got.Limit != 6*octomesh.Dollar {
		t.Errorf("a failed update changed the budget: %+v", got)
	}

	// Delete.
	wantCode(t, "delete in another org", s.DeleteBudget(ctx, "org_b", "bud_key"), octomesh.ENOTFOUND)
	if err := s.DeleteBudget(ctx, "org_a", "bud_key"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "deleted budget", errOf(s.Budget(ctx, "org_a", "bud_key")), octomesh.ENOTFOUND)
	wantCode(t, "delete twice", s.DeleteBudget(ctx, "org_a", "bud_key"), octomesh.ENOTFOUND)
	if diff := cmp.Diff([]*octomesh.Budget{bBudget, orgBudget}, list("")); diff != "" {
		t.Errorf("Budgets after delete (-want +got):\n%s", diff)
	}

	// Every change is audited with the context's actor; failures are not.
	acts := actions(t, s, "org_a")
	wantActs := []string{octomesh.AuditOrgCreated, octomesh.AuditUserCreated, octomesh.AuditMemberAdded, octomesh.AuditKeyCreated,
		octomesh.AuditBudgetCreated, octomesh.AuditBudgetCreated, octomesh.AuditBudgetUpdated, octomesh.AuditBudgetUpdated, octomesh.AuditBudgetDeleted}
	if !cmp.Equal(acts, wantActs) {
		t.Errorf("org_a's audit actions:\n got %v\nwant %v", acts, wantActs)
	}
	es, err := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Target: "bud_key", Limit: 10})
	if err != nil || len(es) != 4 {
		t.Fatalf("bud_key's audit entries: %d, %v", len(es), err)
	}
	wantDetails := []map[string]string{
		nil, // deleted
		{"fields": "alert_percent"},
		{"fields": "name,limit,hard,alert_percent"},
		{"scope": "key", "subject": "key_1", "period": "day", "hard": "false"},
	}
	for i, e := range es {
		if e.Actor != octomesh.ActorFrom(ctx) || !cmp.Equal(e.Details, wantDetails[i]) {
			t.Errorf("audit %s: actor %+v details %v; want %+v %v", e.Action, e.Actor, e.Details, octomesh.ActorFrom(ctx), wantDetails[i])
		}
	}
	if rep, err := s.VerifyAudit(ctx); err != nil || !rep.OK() {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
}

func testBilling(t *testing.T, open Opener) {
	s, _ := openMeter(t, open, NewClock())
	ctx := actorCtx()
	newWorld(t, s, "org_a")
	newWorld(t, s, "org_b")
	customer := func(org, proc, want string) {
		t.Helper()
		if got, err := s.CustomerID(ctx, org, proc); err != nil || got != want {
			t.Errorf("CustomerID(%s, %s) = %q, %v; want %q", org, proc, got, err, want)
		}
	}
	owner := func(proc, cus, want string) {
		t.Helper()
		if got, err := s.OrgByCustomerID(ctx, proc, cus); err != nil || got != want {
			t.Errorf("OrgByCustomerID(%s, %s) = %q, %v; want %q", proc, cus, got, err, want)
		}
	}
	if err := s.SetCustomerID(ctx, "org_a", "stripe", "cus_A"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCustomerID(ctx, "org_a", "paddle", "ctm_A"); err != nil {
		t.Fatal(err)
	}
	customer("org_a", "stripe", "cus_A")
	customer("org_a", "paddle", "ctm_A")
	owner("stripe", "cus_A", "org_a")
	wantCode(t, "org_b's customer", errOf(s.CustomerID(ctx, "org_b", "stripe")), octomesh.ENOTFOUND)
	wantCode(t, "unknown processor", errOf(s.CustomerID(ctx, "org_a", "braintree")), octomesh.ENOTFOUND)
	wantCode(t, "unknown customer", errOf(s.OrgByCustomerID(ctx, "stripe", "cus_Z")), octomesh.ENOTFOUND)
	wantCode(t, "customer at another processor", errOf(s.OrgByCustomerID(ctx, "paddle", "cus_A")), octomesh.ENOTFOUND)

	// A customer belongs to one organisation.
	wantCode(t, "taken customer", s.SetCustomerID(ctx, "org_b", "stripe", "cus_A"), octomesh.EINVALID)
	wantCode(t, "unknown org", s.SetCustomerID(ctx, "org_missing", "stripe", "cus_M"), octomesh.ENOTFOUND)
	for _, bad := range [][2]string{{"", "cus_1"}, {"str ipe", "cus_1"}, {"stripe", ""}, {"stripe", "cus 1"}, {"stripe", "cus\n1"}} {
		wantCode(t, "invalid "+bad[0]+"/"+bad[1], s.SetCustomerID(ctx, "org_b", bad[0], bad[1]), octomesh.EINVALID)
	}
	wantCode(t, "org_b after failures", errOf(s.CustomerID(ctx, "org_b", "stripe")), octomesh.ENOTFOUND)

	// Replacing frees the old id; setting the same id again changes nothing.
	if err := s.SetCustomerID(ctx, "org_a", "stripe", "cus_A2"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCustomerID(ctx, "org_a", "stripe", "cus_A2"); err != nil {
		t.Fatal(err)
	}
	customer("org_a", "stripe", "cus_A2")
	wantCode(t, "replaced customer", errOf(s.OrgByCustomerID(ctx, "stripe", "cus_A")), octomesh.ENOTFOUND)
	if err := s.SetCustomerID(ctx, "org_b", "stripe", "cus_A"); err != nil {
		t.Fatal(err)
	}
	owner("stripe", "cus_A", "org_b")
	owner("stripe", "cus_A2", "org_a")

	es, err := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Action: octomesh.AuditBillingCustomerSet})
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]string
	for _, e := range es {
		got = append(got, e.Details)
		if e.Target != "org_a" || e.Actor != octomesh.ActorFrom(ctx) {
			t.Errorf("audit entry %+v", e)
		}
	}
	want := []map[string]string{
		{"processor": "stripe", "customer_id": "cus_A2"},
		{"processor": "paddle", "customer_id": "ctm_A"},
		{"processor": "stripe", "customer_id": "cus_A"},
	}
	if !cmp.Equal(got, want) {
		t.Errorf("org_a's billing audit, newest first:\n got %v\nwant %v", got, want)
	}
}

// testMeterOrgDelete checks that deleting an organisation deletes its
// ledger, budgets and billing customers, and nothing of another's.
func testMeterOrgDelete(t *testing.T, open Opener) {
	s, _, fx := ledgerWorld(t, open)
	ctx := actorCtx()
	for _, b := range []*octomesh.Budget{
		{ID: "bud_a", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1},
		{ID: "bud_b", OrgID: "org_b", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1},
	} {
		if err := s.CreateBudget(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, org := range []string{"org_a", "org_b"} {
		if err := s.SetCustomerID(ctx, org, "stripe", "cus_"+org); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteOrg(ctx, "org_a"); err != nil {
		t.Fatal(err)
	}
	if es := listEntries(t, s, "org_a", octomesh.EntryFilter{}); len(es) != 0 {
		t.Errorf("the deleted org's ledger: %v", entryIDs(es))
	}
	if rows, err := s.UsageReport(ctx, "org_a", octomesh.EntryFilter{}, nil); err != nil || !cmp.Equal(rows, []octomesh.UsageRow{{}}) {
		t.Errorf("the deleted org's usage = %+v, %v", rows, err)
	}
	if bal, err := s.Balance(ctx, "org_a"); err != nil || bal != 0 {
		t.Errorf("the deleted org's balance = %d, %v", bal, err)
	}
	if bs, err := s.Budgets(ctx, "org_a"); err != nil || len(bs) != 0 {
		t.Errorf("the deleted org's budgets = %v, %v", bs, err)
	}
	wantCode(t, "deleted org's budget", errOf(s.Budget(ctx, "org_a", "bud_a")), octomesh.ENOTFOUND)
	wantCode(t, "deleted org's customer", errOf(s.CustomerID(ctx, "org_a", "stripe")), octomesh.ENOTFOUND)
	wantCode(t, "deleted org by customer", errOf(s.OrgByCustomerID(ctx, "stripe", "cus_org_a")), octomesh.ENOTFOUND)
	// Late usage of the deleted organisation is dropped.
	if n, err := s.AppendEntries(ctx, fx[:1]); err != nil || n != 0 {
		t.Errorf("late entry of a deleted org = %d, %v; want 0", n, err)
	}

	// org_b keeps everything.
	if es := listEntries(t, s, "org_b", octomesh.EntryFilter{}); len(es) != 1 {
		t.Errorf("org_b's ledger: %v", entryIDs(es))
	}
	if bs, _ := s.Budgets(ctx, ""); len(bs) != 1 || bs[0].ID != "bud_b" {
		t.Errorf("budgets left: %v", bs)
	}
	if org, err := s.OrgByCustomerID(ctx, "stripe", "cus_org_b"); err != nil || org != "org_b" {
		t.Errorf("org_b's customer = %q, %v", org, err)
	}
	if bal, _ := s.Balance(ctx, "org_b"); bal != -999_999 {
		t.Errorf("org_b's balance = %d", bal)
	}

	// A new organisation with the same id starts empty, and may reuse
	// the old request ids, budget ids and customer id.
	newWorld(t, s, "org_a")
	if n, err := s.AppendEntries(ctx, fx[:1]); err != nil || n != 1 {
		t.Errorf("entry of the recreated org = %d, %v; want 1", n, err)
	}
	if bal, _ := s.Balance(ctx, "org_a"); bal != -1000 {
		t.Errorf("recreated org's balance = %d, want -1000", bal)
	}
	if err := s.CreateBudget(ctx, &octomesh.Budget{ID: "bud_a", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1}); err != nil {
		t.Errorf("reuse a deleted budget id: %v", err)
	}
	if err := s.SetCustomerID(ctx, "org_a", "stripe", "cus_org_a"); err != nil {
		t.Errorf("reuse a deleted customer id: %v", err)
	}
}
