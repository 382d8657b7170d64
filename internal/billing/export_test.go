package billing_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
)

func TestEntriesCSV(t *testing.T) {
	db := openDB(t)
	newOrg(t, db, "acme", "Acme", false)
	e := usage("acme", "req-1", 1, "sim/a", "key_1", mar15, 1_234_999_999, 1000, 200, 500)
	e.Project, e.UserID, e.Estimated = "=HYPERLINK(\"http://x\")", "usr_1", true
	appendEntries(t, db, e, topUp("acme", "manual:ref,1", mar31, 5*octomesh.Dollar),
		octomesh.LedgerEntry{Kind: octomesh.EntryCorrection, OrgID: "acme", RequestID: "corr-1", Ref: "req-1", Cost: -1, Note: "a \"quoted\", note", Start: mar31})
	var b bytes.Buffer
	if err := billing.WriteEntriesCSV(context.Background(), &b, db, "acme", octomesh.EntryFilter{}); err != nil {
		t.Fatal(err)
	}
	want := "seq,kind,org_id,start,end,key_id,user_id,project,request_id,attempt,deployment,provider,price_version,prompt_tokens,cached_tokens,cache_write_tokens,completion_tokens,estimated,cost,outcome,ref,note\n" +
		"1,usage,acme,2026-03-15T09:30:00Z,2026-03-15T09:30:01Z,key_1,usr_1,\"'=HYPERLINK(\"\"http://x\"\")\",req-1,1,sim/a,sim,,1000,200,0,500,true,1.234999999,ok,,\n" +
		"2,topup,acme,2026-03-31T23:59:59Z,2026-03-31T23:59:59Z,,,,\"manual:ref,1\",0,,,,0,0,0,0,false,-5.00,,,\n" +
		"3,correction,acme,2026-03-31T23:59:59Z,,,,,corr-1,0,,,,0,0,0,0,false,-0.000000001,,req-1,\"a \"\"quoted\"\", note\"\n"
	if got := b.String(); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}

	b.Reset()
	if err := billing.WriteEntriesJSONL(context.Background(), &b, db, "acme", octomesh.EntryFilter{Kinds: []octomesh.EntryKind{octomesh.EntryTopUp}}); err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"object":"ledger_entry","seq":2,"kind":"topup","org_id":"acme","request_id":"manual:ref,1","attempt":0,"prompt_tokens":0,"completion_tokens":0,"cached_tokens":0,"cache_write_tokens":0,"estimated":false,"start":"2026-03-31T23:59:59Z","end":"2026-03-31T23:59:59Z","cost":"-5.00"}` + "\n"
	if got := b.String(); got != wantJSON {
		t.Errorf("JSON Lines:\n%s\nwant:\n%s", got, wantJSON)
	}
}

func TestUsageCSV(t *testing.T) {
	db := openDB(t)
	newOrg(t, db, "acme", "Acme", false)
	march(t, db, "acme")
	groups := []octomesh.UsageGroup{octomesh.GroupDay, octomesh.GroupModel}
	rows, err := db.UsageReport(context.Background(), "acme", octomesh.EntryFilter{From: mar01, To: apr01, Kinds: []octomesh.EntryKind{octomesh.EntryUsage}}, groups)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := billing.WriteUsageCSV(&b, groups, rows); err != nil {
		t.Fatal(err)
	}
	want := "day,model,requests,attempts,prompt_tokens,cached_tokens,cache_write_tokens,completion_tokens,estimated_entries,cost\n" +
		"2026-03-01,sim/a,1,1,1000,200,0,0,0,1.00\n" +
		"2026-03-15,sim/a,2,2,1100,0,0,600,0,2.234999999\n" +
		"2026-03-15,sim/b,1,1,7,0,0,3,0,0.004999999\n" +
		"2026-03-31,sim/a,1,1,1,0,0,1,0,0.005\n"
	if got := b.String(); got != want {
		t.Errorf("usage CSV:\n%s\nwant:\n%s", got, want)
	}
}

// countingLedger counts Entries calls on a real store.
type countingLedger struct {
	octomesh.LedgerStore
	calls int
}

func (c *countingLedger) Entries(ctx context.Context, org string, f octomesh.EntryFilter) ([]octomesh.LedgerEntry, error) {
	c.calls++
	return c.LedgerStore.Entries(ctx, org, f)
}

// TestExportStreamsPages exports a ledger larger than a page: every entry
// once, in order, read in pages.
func TestExportStreamsPages(t *testing.T) {
	db := openDB(t)
	newOrg(t, db, "big", "Big", false)
	newOrg(t, db, "other", "Other", false)
	const n = 2*billing.ExportPageSize + 17
	var batch []octomesh.LedgerEntry
	for i := range n {
		batch = append(batch, usage("big", fmt.Sprintf("r%05d", i), 1, "sim/a", "k", mar01.Add(time.Duration(i)*time.Second), 1, 1, 0, 1))
		if i%7 == 0 {
			batch = append(batch, usage("other", fmt.Sprintf("r%05d", i), 1, "sim/a", "k", mar01, 1, 1, 0, 1))
		}
	}
	appendEntries(t, db, batch...)
	cl := &countingLedger{LedgerStore: db}
	var b bytes.Buffer
	if err := billing.WriteEntriesCSV(context.Background(), &b, cl, "big", octomesh.EntryFilter{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != n+1 || cl.calls != 3 {
		t.Fatalf("%d lines in %d calls, want %d in 3", len(lines), cl.calls, n+1)
	}
	for i, l := range lines[1:] {
		if !strings.Contains(l, fmt.Sprintf(",big,%s,", mar01.Add(time.Duration(i)*time.Second).Format(time.RFC3339))) || !strings.Contains(l, fmt.Sprintf(",r%05d,", i)) {
			t.Fatalf("line %d out of order or foreign: %s", i, l)
		}
	}
}
