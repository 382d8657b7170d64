package ledger

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// FuzzEntryJSON: the hand-written entry encoder writes what json.Marshal
// writes, and a record decodes back to its entry.
func FuzzEntryJSON(f *testing.F) {
	f.Add("usage", "org_1", "key<1>", "", "proj&", "req-\u2028\"x\"", 1, "mock/bench", "mock", "v1", int64(10), int64(5), int64(0), int64(0), false, int64(1234), "ok", "", "", int64(1_700_000_000_123_456_789), int64(1_700_000_000_223_456_789), 0)
	f.Add("correction", "o", "", "u\xff", "", "r", 0, "", "", "", int64(-1), int64(0), int64(3), int64(2), true, int64(-5), "", "ref\n", "note\t", int64(0), int64(-62135596800_000_000), 3600+30*60)
	f.Fuzz(func(t *testing.T, kind, org, key, user, project, req string, attempt int, dep, prov, pv string,
		pt, ct, cached, cw int64, est bool, cost int64, outcome, ref, note string, start, end int64, offset int) {
		loc := time.FixedZone("z", offset%(48*3600))
		e := octomesh.LedgerEntry{Kind: octomesh.EntryKind(kind), OrgID: org, KeyID: key, UserID: user, Project: project,
			RequestID: req, Attempt: attempt, Deployment: dep, Provider: prov, PriceVersion: pv,
			PromptTokens: pt, CompletionTokens: ct, CachedTokens: cached, CacheWriteTokens: cw, Estimated: est,
			Cost: octomesh.Money(cost), Outcome: outcome, Ref: ref, Note: note,
			Start: time.Unix(0, start).In(loc), End: time.Unix(0, end).UTC()}
		want, wantErr := json.Marshal(&e)
		got, err := appendEntryJSON([]byte("prefix"), &e)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, json.Marshal's %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("encoded\n%s\njson.Marshal\n%s", got[len("prefix"):], want)
		}
		line, err := appendRecord(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeRecord(bytes.TrimSuffix(line, []byte("\n")))
		if err != nil {
			t.Fatalf("decode %s: %v", line, err)
		}
		// What the journal gives back is what encoding/json would have.
		var viaJSON octomesh.LedgerEntry
		if err := json.Unmarshal(want, &viaJSON); err != nil {
			t.Fatal(err)
		}
		viaJSON.Seq = 0
		a, _ := json.Marshal(&back)
		b, _ := json.Marshal(&viaJSON)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip\n%s\nwant\n%s", a, b)
		}
	})
}

// A record's checksum is over the entry's bytes, as decodeRecord checks:
// changing one byte of the entry is caught.
func TestRecordChecksumCoversTheEntry(t *testing.T) {
	e := octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "org", RequestID: "r1", Attempt: 1, Cost: 42,
		Start: time.Unix(1_700_000_000, 5).UTC(), End: time.Unix(1_700_000_001, 0).UTC()}
	line, err := appendRecord(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	if _, err := decodeRecord(line); err != nil {
		t.Fatalf("decode %s: %v", line, err)
	}
	bad := bytes.Replace(line, []byte(`"cost":42`), []byte(`"cost":43`), 1)
	if _, err := decodeRecord(bad); err == nil {
		t.Fatalf("a changed entry passed its checksum: %s", bad)
	}
}
