package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/octomesh/octomesh"
)

// RunMeter runs the conformance suite of octomesh.MeterStore: the ledger,
// budgets and billing customers. The stores open must also implement
// octomesh.MeterStore.
func RunMeter(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"LedgerAppend", testLedgerAppend},
		{"LedgerValidation", testLedgerValidation},
		{"LedgerFilters", testLedgerFilters},
		{"LedgerPageSize", testLedgerPageSize},
		{"UsageReport", testUsageReport},
		{"SpendAndBalance", testSpendAndBalance},
		{"LedgerConcurrent", testLedgerConcurrent},
		{"Budgets", testBudgets},
		{"Billing", testBilling},
		{"MeterOrgDelete", testMeterOrgDelete},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// meterStore is a fresh store of both kinds, for the meter suite.
type meterStore interface {
	octomesh.AccountStore
	octomesh.MeterStore
}

func openMeter(t *testing.T, open Opener, clock *Clock) (meterStore, *Harness) {
	t.Helper()
	h := open(t, clock.Now)
	s, ok := h.Store.(meterStore)
	if !ok {
		t.Fatalf("%T does not implement octomesh.MeterStore", h.Store)
	}
	return s, h
}

// The suite's ledger: three UTC days from the suite clock's start.
var (
	day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	day1 = day0.AddDate(0, 0, 1)
	day2 = day0.AddDate(0, 0, 2)
)

const (
	modelMini   = "openai/gpt-4o-mini"
	modelClaude = "anthropic/claude-sonnet"
)

// ledgerFixture is org_a's ledger, in insertion order: e1..e7 as the
// comments in the report tests add them up.
func ledgerFixture() []octomesh.LedgerEntry {
	at := func(d time.Time, dur time.Duration) time.Time { return d.Add(dur) }
	return []octomesh.LedgerEntry{
		// e1: a request's first attempt.
		{Kind: octomesh.EntryUsage, OrgID: "org_a", KeyID: "key_1", UserID: "usr_1", Project: "proj_1", RequestID: "req_1", Attempt: 1,
			Deployment: modelMini, Provider: "openai", PriceVersion: "v1", PromptTokens: 100, CompletionTokens: 50, CachedTokens: 20,
			Cost: 1000, Outcome: "ok", Start: at(day0, 10*time.Hour), End: at(day0, 10*time.Hour+2*time.Second)},
		// e2: its failed second attempt, at zero cost.
		{Kind: octomesh.EntryUsage, OrgID: "org_a", KeyID: "key_1", UserID: "usr_1", Project: "proj_1", RequestID: "req_1", Attempt: 2,
			Deployment: modelClaude, Provider: "anthropic", PriceVersion: "v1", PromptTokens: 100,
			Outcome: "upstream_error", Start: at(day0, 10*time.Hour+time.Second), End: at(day0, 10*time.Hour+1500*time.Millisecond)},
		// e3: estimated usage, the last nanosecond of day 0.
		{Kind: octomesh.EntryUsage, OrgID: "org_a", KeyID: "key_2", Project: "proj_2", RequestID: "req_2", Attempt: 1,
			Deployment: modelMini, Provider: "openai", PromptTokens: 200, CompletionTokens: 100, Estimated: true,
			Cost: 3000, Outcome: "cancelled", Start: day1.Add(-1), End: day1.Add(time.Second)},
		// e4: day 1, with cache reads and writes.
		{Kind: octomesh.EntryUsage, OrgID: "org_a", KeyID: "key_1", UserID: "usr_1", Project: "proj_1", RequestID: "req_3", Attempt: 1,
			Deployment: modelClaude, Provider: "anthropic", PromptTokens: 10, CompletionTokens: 5, CachedTokens: 2, CacheWriteTokens: 4,
			Cost: 500, Outcome: "ok", Start: day1},
		// e5: a correction of e4.
		{Kind: octomesh.EntryCorrection, OrgID: "org_a", KeyID: "key_1", UserID: "usr_1", Project: "proj_1", RequestID: "corr_1",
			Deployment: modelClaude, CompletionTokens: -1, Cost: -100, Ref: "req_3", Note: "provider re-reported usage", Start: day1.Add(time.Hour)},
		// e6: a $10 top-up on day 0.
		{Kind: octomesh.EntryTopUp, OrgID: "org_a", RequestID: "pay_1", Cost: -10 * octomesh.Dollar, Ref: "pi_123", Note: "card", Start: day0.Add(9 * time.Hour)},
		// e7: day 2, another user of key_2.
		{Kind: octomesh.EntryUsage, OrgID: "org_a", KeyID: "key_2", UserID: "usr_2", RequestID: "req_4", Attempt: 1,
			Deployment: modelMini, Provider: "openai", PromptTokens: 1, CompletionTokens: 1, Cost: 7, Outcome: "ok", Start: day2.Add(8 * time.Hour)},
	}
}

// orgBEntry shares e1's triple in another organisation.
func orgBEntry() octomesh.LedgerEntry {
	return octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "org_b", KeyID: "key_b", RequestID: "req_1", Attempt: 1,
		Deployment: modelMini, PromptTokens: 9, CompletionTokens: 9, Cost: 999_999, Start: day0.Add(10 * time.Hour)}
}

// ledgerWorld is two organisations with the fixture ledger appended.
func ledgerWorld(t *testing.T, open Opener) (meterStore, *Harness, []octomesh.LedgerEntry) {
	t.Helper()
	s, h := openMeter(t, open, NewClock())
	newWorld(t, s, "org_a")
	newWorld(t, s, "org_b")
	fx := ledgerFixture()
	n, err := s.AppendEntries(context.Background(), append(append([]octomesh.LedgerEntry{}, fx...), orgBEntry()))
	if err != nil || n != len(fx)+1 {
		t.Fatalf("AppendEntries(fixture) = %d, %v; want %d new", n, err, len(fx)+1)
	}
	return s, h, fx
}

// entryIDs names entries by request id and attempt, in order.
func entryIDs(es []octomesh.LedgerEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s/%d", e.RequestID, e.Attempt))
	}
	return out
}

func listEntries(t *testing.T, s octomesh.LedgerStore, org string, f octomesh.EntryFilter) []octomesh.LedgerEntry {
	t.Helper()
	es, err := s.Entries(context.Background(), org, f)
	if err != nil {
		t.Fatalf("Entries(%s, %+v): %v", org, f, err)
	}
	return es
}

var ignoreSeq = cmpopts.IgnoreFields(octomesh.LedgerEntry{}, "Seq")

func testLedgerAppend(t *testing.T, open Opener) {
	s, _, fx := ledgerWorld(t, open)
	ctx := context.Background()

	// Stored exactly as given, in insertion order, with increasing seqs.
	got := listEntries(t, s, "org_a", octomesh.EntryFilter{})
	if diff := cmp.Diff(fx, got, ignoreSeq); diff != "" {
		t.Errorf("Entries(org_a) (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Errorf("seq %d after %d: not increasing", got[i].Seq, got[i-1].Seq)
		}
	}

	// The same triple again is a no-op, even with different values: the
	// ledger is never edited.
	again := fx[0]
	again.Cost, again.PromptTokens = 123456, 1
	if n, err := s.AppendEntries(ctx, []octomesh.LedgerEntry{again}); err != nil || n != 0 {
		t.Errorf("re-append of e1 = %d, %v; want 0 new", n, err)
	}
	// A batch with a duplicate inside counts it once; its known entries
	// are skipped.
	fresh := octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "org_a", KeyID: "key_1", RequestID: "req_5", Attempt: 1,
		Deployment: modelMini, PromptTokens: 3, Cost: 11, Start: day2.Add(9 * time.Hour)}
	if n, err := s.AppendEntries(ctx, []octomesh.LedgerEntry{fresh, fx[1], fresh, fx[2]}); err != nil || n != 1 {
		t.Errorf("batch with a duplicate inside = %d, %v; want 1 new", n, err)
	}
	got = listEntries(t, s, "org_a", octomesh.EntryFilter{})
	if diff := cmp.Diff(append(append([]octomesh.LedgerEntry{}, fx...), fresh), got, ignoreSeq); diff != "" {
		t.Errorf("Entries after re-appends (-want +got):\n%s", diff)
	}
	// The same triple with another kind is another entry.
	corr := octomesh.LedgerEntry{Kind: octomesh.EntryCorrection, OrgID: "org_a", RequestID: "req_5", Attempt: 1, Cost: -1, Start: day2.Add(10 * time.Hour)}
	if n, err := s.AppendEntries(ctx, []octomesh.LedgerEntry{corr}); err != nil || n != 1 {
		t.Errorf("correction sharing a usage entry's request and attempt = %d, %v; want 1 new", n, err)
	}

	// Org isolation: org_b's entry with e1's triple is its own.
	gotB := listEntries(t, s, "org_b", octomesh.EntryFilter{})
	if diff := cmp.Diff([]octomesh.LedgerEntry{orgBEntry()}, gotB, ignoreSeq); diff != "" {
		t.Errorf("Entries(org_b) (-want +got):\n%s", diff)
	}
	if es := listEntries(t, s, "org_missing", octomesh.EntryFilter{}); len(es) != 0 {
		t.Errorf("Entries(org_missing) = %v", entryIDs(es))
	}

	// Entries of an organisation that does not exist are skipped, the
	// rest of the batch stored.
	ghost := fresh
	ghost.OrgID, ghost.RequestID = "org_missing", "req_ghost"
	fresh2 := fresh
	fresh2.RequestID = "req_6"
	if n, err := s.AppendEntries(ctx, []octomesh.LedgerEntry{ghost, fresh2}); err != nil || n != 1 {
		t.Errorf("batch with an unknown organisation's entry = %d, %v; want 1 new", n, err)
	}
	if es := listEntries(t, s, "org_missing", octomesh.EntryFilter{}); len(es) != 0 {
		t.Errorf("an unknown organisation's entry was stored: %v", entryIDs(es))
	}
	if n, err := s.AppendEntries(ctx, nil); err != nil || n != 0 {
		t.Errorf("AppendEntries(nil) = %d, %v", n, err)
	}
}

func testLedgerValidation(t *testing.T, open Opener) {
	s, _ := openMeter(t, open, NewClock())
	ctx := context.Background()
	newWorld(t, s, "org_a")
	good := octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "org_a", RequestID: "req_ok", Attempt: 1, PromptTokens: 1, Cost: 1, Start: day0}
	for _, tc := range []struct {
		name  string
		edit  func(e *octomesh.LedgerEntry)
		param string
	}{
		{"kind", func(e *octomesh.LedgerEntry) { e.Kind = "refund" }, "kind"},
		{"no kind", func(e *octomesh.LedgerEntry) { e.Kind = "" }, "kind"},
		{"org", func(e *octomesh.LedgerEntry) { e.OrgID = "org a" }, "org_id"},
		{"no request", func(e *octomesh.LedgerEntry) { e.RequestID = "" }, "request_id"},
		{"long request", func(e *octomesh.LedgerEntry) { e.RequestID = string(make([]byte, 129)) }, "request_id"},
		{"attempt", func(e *octomesh.LedgerEntry) { e.Attempt = -1 }, "attempt"},
		{"negative tokens", func(e *octomesh.LedgerEntry) { e.CompletionTokens = -1 }, "cost"},
		{"negative cost", func(e *octomesh.LedgerEntry) { e.Cost = -1 }, "cost"},
		{"positive top-up", func(e *octomesh.LedgerEntry) { e.Kind = octomesh.EntryTopUp }, "cost"},
		{"zero top-up", func(e *octomesh.LedgerEntry) { e.Kind, e.Cost = octomesh.EntryTopUp, 0 }, "cost"},
		{"no start", func(e *octomesh.LedgerEntry) { e.Start = time.Time{} }, "start"},
		{"NUL", func(e *octomesh.LedgerEntry) { e.Note = "a\x00b" }, "note"},
		{"bad UTF-8", func(e *octomesh.LedgerEntry) { e.Deployment = "\xff\xfe" }, "deployment"},
		{"newline", func(e *octomesh.LedgerEntry) { e.Outcome = "ok\nforged" }, "outcome"},
		{"long key", func(e *octomesh.LedgerEntry) { e.KeyID = string(make([]byte, 201)) }, "key_id"},
	} {
		bad := good
		bad.RequestID = "req_bad"
		tc.edit(&bad)
		// All or nothing: the valid entry before it is not stored either.
		n, err := s.AppendEntries(ctx, []octomesh.LedgerEntry{good, bad})
		wantCode(t, tc.name, err, octomesh.EINVALID)
		if err != nil && octomesh.AsError(err).Param != tc.param {
			t.Errorf("%s: param = %q, want %q", tc.name, octomesh.AsError(err).Param, tc.param)
		}
		if n != 0 {
			t.Errorf("%s: n = %d", tc.name, n)
		}
	}
	if es := listEntries(t, s, "org_a", octomesh.EntryFilter{}); len(es) != 0 {
		t.Errorf("invalid batches stored %v", entryIDs(es))
	}
	// Corrections may be negative in every count.
	corr := octomesh.LedgerEntry{Kind: octomesh.EntryCorrection, OrgID: "org_a", RequestID: "c", PromptTokens: -5, CompletionTokens: -5, Cost: -5, Start: day0}
	if n, err := s.AppendEntries(ctx, []octomesh.LedgerEntry{corr}); err != nil || n != 1 {
		t.Errorf("negative correction = %d, %v", n, err)
	}
	// Invalid filters.
	for _, f := range []octomesh.EntryFilter{{Kinds: []octomesh.EntryKind{"nope"}}, {Limit: -1}, {AfterSeq: -1}, {From: day1, To: day0}} {
		wantCode(t, fmt.Sprintf("Entries(%+v)", f), errOf(s.Entries(ctx, "org_a", f)), octomesh.EINVALID)
		wantCode(t, fmt.Sprintf("UsageReport(%+v)", f), errOf(s.UsageReport(ctx, "org_a", f, nil)), octomesh.EINVALID)
	}
}

func testLedgerFilters(t *testing.T, open Opener) {
	s, _, _ := ledgerWorld(t, open)
	all := listEntries(t, s, "org_a", octomesh.EntryFilter{})
	seqOf := func(req string, attempt int) int64 {
		for _, e := range all {
			if e.RequestID == req && e.Attempt == attempt {
				return e.Seq
			}
		}
		t.Fatalf("no entry %s/%d", req, attempt)
		return 0
	}
	for _, tc := range []struct {
		name string
		f    octomesh.EntryFilter
		want []string
	}{
		{"all", octomesh.EntryFilter{}, []string{"req_1/1", "req_1/2", "req_2/1", "req_3/1", "corr_1/0", "pay_1/0", "req_4/1"}},
		{"from (inclusive)", octomesh.EntryFilter{From: day1}, []string{"req_3/1", "corr_1/0", "req_4/1"}},
		{"to (exclusive)", octomesh.EntryFilter{To: day1}, []string{"req_1/1", "req_1/2", "req_2/1", "pay_1/0"}},
		{"from and to", octomesh.EntryFilter{From: day0.Add(10*time.Hour + time.Second), To: day1}, []string{"req_1/2", "req_2/1"}},
		{"key", octomesh.EntryFilter{KeyID: "key_1"}, []string{"req_1/1", "req_1/2", "req_3/1", "corr_1/0"}},
		{"user", octomesh.EntryFilter{UserID: "usr_2"}, []string{"req_4/1"}},
		{"project", octomesh.EntryFilter{Project: "proj_2"}, []string{"req_2/1"}},
		{"model", octomesh.EntryFilter{Model: modelClaude}, []string{"req_1/2", "req_3/1", "corr_1/0"}},
		{"kind", octomesh.EntryFilter{Kinds: []octomesh.EntryKind{octomesh.EntryTopUp}}, []string{"pay_1/0"}},
		{"kinds", octomesh.EntryFilter{Kinds: []octomesh.EntryKind{octomesh.EntryCorrection, octomesh.EntryTopUp}}, []string{"corr_1/0", "pay_1/0"}},
		{"after seq", octomesh.EntryFilter{AfterSeq: seqOf("req_2", 1)}, []string{"req_3/1", "corr_1/0", "pay_1/0", "req_4/1"}},
		{"limit", octomesh.EntryFilter{Limit: 2}, []string{"req_1/1", "req_1/2"}},
		{"page 2", octomesh.EntryFilter{Limit: 2, AfterSeq: seqOf("req_1", 2)}, []string{"req_2/1", "req_3/1"}},
		{"combined", octomesh.EntryFilter{KeyID: "key_1", Kinds: []octomesh.EntryKind{octomesh.EntryUsage}, From: day1}, []string{"req_3/1"}},
		{"no match", octomesh.EntryFilter{KeyID: "key_1", UserID: "usr_2"}, []string{}},
		{"unknown model", octomesh.EntryFilter{Model: "nope"}, []string{}},
	} {
		got := entryIDs(listEntries(t, s, "org_a", tc.f))
		if !cmp.Equal(got, tc.want) {
			t.Errorf("%s: Entries = %v, want %v", tc.name, got, tc.want)
		}
	}
	// org_b's filters see only org_b's entry.
	if got := entryIDs(listEntries(t, s, "org_b", octomesh.EntryFilter{KeyID: "key_b"})); !cmp.Equal(got, []string{"req_1/1"}) {
		t.Errorf("org_b by key = %v", got)
	}
	if got := entryIDs(listEntries(t, s, "org_b", octomesh.EntryFilter{KeyID: "key_1"})); len(got) != 0 {
		t.Errorf("org_b sees org_a's key: %v", got)
	}
}

// testLedgerPageSize checks the default and the maximum page size.
func testLedgerPageSize(t *testing.T, open Opener) {
	s, _ := openMeter(t, open, NewClock())
	newWorld(t, s, "org_a")
	n := octomesh.DefaultEntryLimit + 1
	es := make([]octomesh.LedgerEntry, n)
	for i := range es {
		es[i] = octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "org_a", RequestID: fmt.Sprintf("req_%05d", i), Attempt: 1, Cost: 1, Start: day0}
	}
	if got, err := s.AppendEntries(context.Background(), es); err != nil || got != n {
		t.Fatalf("AppendEntries = %d, %v", got, err)
	}
	page := listEntries(t, s, "org_a", octomesh.EntryFilter{})
	if len(page) != octomesh.DefaultEntryLimit || page[0].RequestID != "req_00000" {
		t.Errorf("default page: %d entries, want %d", len(page), octomesh.DefaultEntryLimit)
	}
	if rest := listEntries(t, s, "org_a", octomesh.EntryFilter{AfterSeq: page[len(page)-1].Seq}); len(rest) != 1 || rest[0].RequestID != fmt.Sprintf("req_%05d", n-1) {
		t.Errorf("second page: %v", entryIDs(rest))
	}
	if big := listEntries(t, s, "org_a", octomesh.EntryFilter{Limit: octomesh.MaxEntryLimit * 2}); len(big) != n {
		t.Errorf("a large limit: %d entries, want %d", len(big), n)
	}
}

func testLedgerConcurrent(t *testing.T, open Opener) {
	s, h := openMeter(t, open, NewClock())
	newWorld(t, s, "org_a")
	ctx := context.Background()
	other, ok := h.Reopen(t).(octomesh.MeterStore)
	if !ok {
		t.Fatal("Reopen's store is not a MeterStore")
	}
	// Eight writers on two handles append 40 shared entries and 40 of
	// their own each, in batches of 20.
	const writers, shared, own = 8, 40, 40
	entry := func(req string) octomesh.LedgerEntry {
		return octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "org_a", RequestID: req, Attempt: 1, PromptTokens: 1, Cost: 1, Start: day0}
	}
	var wg sync.WaitGroup
	counts := make([]int, writers)
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := octomesh.MeterStore(s)
			if w%2 == 1 {
				st = other
			}
			var all []octomesh.LedgerEntry
			for i := range shared {
				all = append(all, entry(fmt.Sprintf("shared_%d", i)))
			}
			for i := range own {
				all = append(all, entry(fmt.Sprintf("own_%d_%d", w, i)))
			}
			for len(all) > 0 {
				n, err := st.AppendEntries(ctx, all[:20])
				if err != nil {
					errs[w] = err
					return
				}
				counts[w] += n
				all = all[20:]
			}
		}()
	}
	wg.Wait()
	total := 0
	for w := range writers {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v", w, errs[w])
		}
		total += counts[w]
	}
	want := shared + writers*own
	if total != want {
		t.Errorf("writers counted %d new entries, want %d", total, want)
	}
	es := listEntries(t, s, "org_a", octomesh.EntryFilter{Limit: octomesh.MaxEntryLimit})
	seen := map[string]bool{}
	for i, e := range es {
		if seen[e.RequestID] {
			t.Errorf("entry %s stored twice", e.RequestID)
		}
		seen[e.RequestID] = true
		if i > 0 && e.Seq <= es[i-1].Seq {
			t.Errorf("seq %d after %d", e.Seq, es[i-1].Seq)
		}
	}
	if len(es) != want {
		t.Errorf("%d entries stored, want %d", len(es), want)
	}
}
