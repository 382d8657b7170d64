package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

// testUsageReport checks every grouping against totals worked out by hand
// from ledgerFixture.
func testUsageReport(t *testing.T, open Opener) {
	s, _, _ := ledgerWorld(t, open)
	ctx := context.Background()
	spend := []octomesh.EntryKind{octomesh.EntryUsage, octomesh.EntryCorrection}
	topUp := -10 * octomesh.Dollar
	for _, tc := range []struct {
		name   string
		org    string
		f      octomesh.EntryFilter
		groups []octomesh.UsageGroup
		want   []octomesh.UsageRow
	}{
		{"total", "org_a", octomesh.EntryFilter{}, nil, []octomesh.UsageRow{
			// Requests req_1..req_4; attempts e1 e2 e3 e4 e7; the top-up's cost included.
			{Requests: 4, Attempts: 5, PromptTokens: 411, CompletionTokens: 155, CachedTokens: 22, CacheWriteTokens: 4, EstimatedEntries: 1, Cost: 4407 + topUp},
		}},
		{"total ignores limit and after_seq", "org_a", octomesh.EntryFilter{Limit: 1, AfterSeq: 1 << 40}, nil, []octomesh.UsageRow{
			{Requests: 4, Attempts: 5, PromptTokens: 411, CompletionTokens: 155, CachedTokens: 22, CacheWriteTokens: 4, EstimatedEntries: 1, Cost: 4407 + topUp},
		}},
		{"spend total", "org_a", octomesh.EntryFilter{Kinds: spend}, nil, []octomesh.UsageRow{
			{Requests: 4, Attempts: 5, PromptTokens: 411, CompletionTokens: 155, CachedTokens: 22, CacheWriteTokens: 4, EstimatedEntries: 1, Cost: 4407},
		}},
		{"empty total", "org_missing", octomesh.EntryFilter{}, nil, []octomesh.UsageRow{{}}},
		{"org_b", "org_b", octomesh.EntryFilter{}, nil, []octomesh.UsageRow{
			{Requests: 1, Attempts: 1, PromptTokens: 9, CompletionTokens: 9, Cost: 999_999},
		}},
		{"by day", "org_a", octomesh.EntryFilter{}, []octomesh.UsageGroup{octomesh.GroupDay}, []octomesh.UsageRow{
			{Day: "2026-03-01", Requests: 2, Attempts: 3, PromptTokens: 400, CompletionTokens: 150, CachedTokens: 20, EstimatedEntries: 1, Cost: 4000 + topUp},
			{Day: "2026-03-02", Requests: 1, Attempts: 1, PromptTokens: 10, CompletionTokens: 4, CachedTokens: 2, CacheWriteTokens: 4, Cost: 400},
			{Day: "2026-03-03", Requests: 1, Attempts: 1, PromptTokens: 1, CompletionTokens: 1, Cost: 7},
		}},
		{"by day for a key", "org_a", octomesh.EntryFilter{KeyID: "key_2"}, []octomesh.UsageGroup{octomesh.GroupDay}, []octomesh.UsageRow{
			{Day: "2026-03-01", Requests: 1, Attempts: 1, PromptTokens: 200, CompletionTokens: 100, EstimatedEntries: 1, Cost: 3000},
			{Day: "2026-03-03", Requests: 1, Attempts: 1, PromptTokens: 1, CompletionTokens: 1, Cost: 7},
		}},
		{"by model", "org_a", octomesh.EntryFilter{Kinds: spend}, []octomesh.UsageGroup{octomesh.GroupModel}, []octomesh.UsageRow{
			{Model: modelClaude, Requests: 2, Attempts: 2, PromptTokens: 110, CompletionTokens: 4, CachedTokens: 2, CacheWriteTokens: 4, Cost: 400},
			{Model: modelMini, Requests: 3, Attempts: 3, PromptTokens: 301, CompletionTokens: 151, CachedTokens: 20, EstimatedEntries: 1, Cost: 4007},
		}},
		{"by key and kind", "org_a", octomesh.EntryFilter{}, []octomesh.UsageGroup{octomesh.GroupKey, octomesh.GroupKind}, []octomesh.UsageRow{
			{Kind: octomesh.EntryTopUp, Cost: topUp},
			{KeyID: "key_1", Kind: octomesh.EntryCorrection, CompletionTokens: -1, Cost: -100},
			{KeyID: "key_1", Kind: octomesh.EntryUsage, Requests: 2, Attempts: 3, PromptTokens: 210, CompletionTokens: 55, CachedTokens: 22, CacheWriteTokens: 4, Cost: 1500},
			{KeyID: "key_2", Kind: octomesh.EntryUsage, Requests: 2, Attempts: 2, PromptTokens: 201, CompletionTokens: 101, EstimatedEntries: 1, Cost: 3007},
		}},
		{"by kind and key", "org_a", octomesh.EntryFilter{}, []octomesh.UsageGroup{octomesh.GroupKind, octomesh.GroupKey}, []octomesh.UsageRow{
			{KeyID: "key_1", Kind: octomesh.EntryCorrection, CompletionTokens: -1, Cost: -100},
			{Kind: octomesh.EntryTopUp, Cost: topUp},
			{KeyID: "key_1", Kind: octomesh.EntryUsage, Requests: 2, Attempts: 3, PromptTokens: 210, CompletionTokens: 55, CachedTokens: 22, CacheWriteTokens: 4, Cost: 1500},
			{KeyID: "key_2", Kind: octomesh.EntryUsage, Requests: 2, Attempts: 2, PromptTokens: 201, CompletionTokens: 101, EstimatedEntries: 1, Cost: 3007},
		}},
		{"by user and project, days 0-1", "org_a", octomesh.EntryFilter{From: day0, To: day2, Kinds: spend},
			[]octomesh.UsageGroup{octomesh.GroupUser, octomesh.GroupProject}, []octomesh.UsageRow{
				{Project: "proj_2", Requests: 1, Attempts: 1, PromptTokens: 200, CompletionTokens: 100, EstimatedEntries: 1, Cost: 3000},
				{UserID: "usr_1", Project: "proj_1", Requests: 2, Attempts: 3, PromptTokens: 210, CompletionTokens: 54, CachedTokens: 22, CacheWriteTokens: 4, Cost: 1400},
			}},
		{"by project for a model", "org_a", octomesh.EntryFilter{Model: modelMini}, []octomesh.UsageGroup{octomesh.GroupProject}, []octomesh.UsageRow{
			{Requests: 1, Attempts: 1, PromptTokens: 1, CompletionTokens: 1, Cost: 7},
			{Project: "proj_1", Requests: 1, Attempts: 1, PromptTokens: 100, CompletionTokens: 50, CachedTokens: 20, Cost: 1000},
			{Project: "proj_2", Requests: 1, Attempts: 1, PromptTokens: 200, CompletionTokens: 100, EstimatedEntries: 1, Cost: 3000},
		}},
		{"by day, model, key, user, project and kind", "org_a", octomesh.EntryFilter{From: day1}, []octomesh.UsageGroup{
			octomesh.GroupDay, octomesh.GroupModel, octomesh.GroupKey, octomesh.GroupUser, octomesh.GroupProject, octomesh.GroupKind}, []octomesh.UsageRow{
			{Day: "2026-03-02", Model: modelClaude, KeyID: "key_1", UserID: "usr_1", Project: "proj_1", Kind: octomesh.EntryCorrection, CompletionTokens: -1, Cost: -100},
			{Day: "2026-03-02", Model: modelClaude, KeyID: "key_1", UserID: "usr_1", Project: "proj_1", Kind: octomesh.EntryUsage,
				Requests: 1, Attempts: 1, PromptTokens: 10, CompletionTokens: 5, CachedTokens: 2, CacheWriteTokens: 4, Cost: 500},
			{Day: "2026-03-03", Model: modelMini, KeyID: "key_2", UserID: "usr_2", Kind: octomesh.EntryUsage, Requests: 1, Attempts: 1, PromptTokens: 1, CompletionTokens: 1, Cost: 7},
		}},
		{"grouped, nothing matches", "org_a", octomesh.EntryFilter{KeyID: "key_none"}, []octomesh.UsageGroup{octomesh.GroupDay}, []octomesh.UsageRow{}},
	} {
		got, err := s.UsageReport(ctx, tc.org, tc.f, tc.groups)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got == nil {
			got = []octomesh.UsageRow{}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: UsageReport (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, groups := range [][]octomesh.UsageGroup{{"week"}, {octomesh.GroupDay, octomesh.GroupDay}, {""}} {
		wantCode(t, fmt.Sprintf("groups %v", groups), errOf(s.UsageReport(ctx, "org_a", octomesh.EntryFilter{}, groups)), octomesh.EINVALID)
	}
}

func testSpendAndBalance(t *testing.T, open Opener) {
	s, _, _ := ledgerWorld(t, open)
	ctx := context.Background()
	for _, tc := range []struct {
		org     string
		scope   octomesh.BudgetScope
		subject string
		since   time.Time
		want    octomesh.Money
	}{
		{"org_a", octomesh.ScopeOrg, "", time.Time{}, 4407}, // top-ups are not spend
		{"org_a", octomesh.ScopeOrg, "", day1, 407},
		{"org_a", octomesh.ScopeOrg, "", day1.Add(-1), 3407}, // since is inclusive
		{"org_a", octomesh.ScopeOrg, "", day2.AddDate(0, 0, 1), 0},
		{"org_a", octomesh.ScopeKey, "key_1", time.Time{}, 1400},
		{"org_a", octomesh.ScopeKey, "key_1", day1, 400},
		{"org_a", octomesh.ScopeKey, "key_2", time.Time{}, 3007},
		{"org_a", octomesh.ScopeKey, "key_none", time.Time{}, 0},
		{"org_a", octomesh.ScopeKey, "key_b", time.Time{}, 0}, // org_b's key
		{"org_a", octomesh.ScopeUser, "usr_1", time.Time{}, 1400},
		{"org_a", octomesh.ScopeUser, "usr_2", time.Time{}, 7},
		{"org_a", octomesh.ScopeProject, "proj_1", time.Time{}, 1400},
		{"org_a", octomesh.ScopeProject, "proj_2", day0, 3000},
		{"org_b", octomesh.ScopeOrg, "", time.Time{}, 999_999},
		{"org_b", octomesh.ScopeKey, "key_1", time.Time{}, 0},
		{"org_missing", octomesh.ScopeOrg, "", time.Time{}, 0},
	} {
		got, err := s.SpendSince(ctx, tc.org, tc.scope, tc.subject, tc.since)
		if err != nil || got != tc.want {
			t.Errorf("SpendSince(%s, %s, %q, %v) = %d, %v; want %d", tc.org, tc.scope, tc.subject, tc.since, got, err, tc.want)
		}
	}
	for _, bad := range []struct {
		scope   octomesh.BudgetScope
		subject string
	}{{"team", "x"}, {"", ""}, {octomesh.ScopeOrg, "x"}, {octomesh.ScopeKey, ""}, {octomesh.ScopeProject, ""}} {
		wantCode(t, fmt.Sprintf("SpendSince(%q, %q)", bad.scope, bad.subject), errOf(s.SpendSince(ctx, "org_a", bad.scope, bad.subject, time.Time{})), octomesh.EINVALID)
	}

	balance := func(org string, want octomesh.Money) {
		t.Helper()
		if got, err := s.Balance(ctx, org); err != nil || got != want {
			t.Errorf("Balance(%s) = %d, %v; want %d", org, got, err, want)
		}
	}
	balance("org_a", 10*octomesh.Dollar-4407)
	balance("org_b", -999_999)
	balance("org_missing", 0)
	// A second top-up credits the balance; replaying it does not.
	top := octomesh.LedgerEntry{Kind: octomesh.EntryTopUp, OrgID: "org_a", RequestID: "pay_2", Cost: -5 * octomesh.Dollar, Ref: "pi_456", Start: day2}
	for range 2 {
		if _, err := s.AppendEntries(ctx, []octomesh.LedgerEntry{top}); err != nil {
			t.Fatal(err)
		}
	}
	balance("org_a", 15*octomesh.Dollar-4407)
	if got, _ := s.SpendSince(ctx, "org_a", octomesh.ScopeOrg, "", time.Time{}); got != 4407 {
		t.Errorf("spend after a top-up = %d, want 4407", got)
	}
	// A correction that refunds counts as negative spend.
	refund := octomesh.LedgerEntry{Kind: octomesh.EntryCorrection, OrgID: "org_a", KeyID: "key_2", RequestID: "corr_2", Ref: "req_2", Cost: -3000, Start: day2}
	if _, err := s.AppendEntries(ctx, []octomesh.LedgerEntry{refund}); err != nil {
		t.Fatal(err)
	}
	balance("org_a", 15*octomesh.Dollar-1407)
	if got, _ := s.SpendSince(ctx, "org_a", octomesh.ScopeKey, "key_2", time.Time{}); got != 7 {
		t.Errorf("key_2 spend after a refund = %d, want 7", got)
	}
	balance("org_b", -999_999)
}
