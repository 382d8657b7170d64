package ledger

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

func fullEntry() octomesh.LedgerEntry {
	return octomesh.LedgerEntry{Kind: octomesh.EntryCorrection, OrgID: "org_a", KeyID: "key_1", UserID: "usr_1", Project: "proj \"x\"",
		RequestID: "req_1", Attempt: 3, Deployment: "openai/gpt-4o", Provider: "openai", PriceVersion: "2026-03",
		PromptTokens: -1, CompletionTokens: 2, CachedTokens: 3, CacheWriteTokens: 4, Estimated: true, Cost: -123456789,
		Outcome: "ok", Ref: "req_0", Note: "re-reported <usage> & ünïcode", Start: time.Date(2026, 3, 1, 23, 59, 59, 999999999, time.UTC),
		End: time.Date(2026, 3, 2, 0, 0, 1, 5, time.UTC)}
}

func TestRecordRoundTrip(t *testing.T) {
	e := fullEntry()
	buf, err := encodeRecords([]octomesh.LedgerEntry{e, entry("second", 1)})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"v":1,"crc":"`) {
		t.Fatalf("records = %q", buf)
	}
	got, err := decodeRecord([]byte(lines[0]))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Any change to the entry's bytes breaks the checksum.
	tampered := strings.Replace(lines[0], `"cost":-123456789`, `"cost":-123456788`, 1)
	if _, err := decodeRecord([]byte(tampered)); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("tampered record: err = %v", err)
	}
	for _, bad := range []string{"", "{}", `{"v":2,"crc":"00000000","entry":{}}`, `{"v":1,"crc":"x","entry":`, "not json"} {
		if _, err := decodeRecord([]byte(bad)); err == nil {
			t.Errorf("decodeRecord(%q) succeeded", bad)
		}
	}
}

func TestReadSegment(t *testing.T) {
	var es []octomesh.LedgerEntry
	for i := range 5 {
		e := fullEntry()
		e.Attempt = i
		es = append(es, e)
	}
	buf, err := encodeRecords(es)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(buf, []byte("\n"))
	for _, tc := range []struct {
		name    string
		data    []byte
		want    []int // attempts read
		skipped int
	}{
		{"whole", buf, []int{0, 1, 2, 3, 4}, 0},
		{"empty", nil, nil, 0},
		{"torn last line", append(append([]byte{}, buf...), lines[0][:40]...), []int{0, 1, 2, 3, 4}, 1},
		{"missing newline", buf[:len(buf)-1], []int{0, 1, 2, 3}, 1},
		{"corrupt middle line", bytes.Join([][]byte{lines[0], []byte("garbage\n"), lines[2]}, nil), []int{0, 2}, 1},
		{"blank lines", bytes.Join([][]byte{lines[0], []byte("\n"), lines[1]}, nil), []int{0, 1}, 1},
	} {
		var got []int
		var sizes []int
		skipped, err := readSegment(bytes.NewReader(tc.data), 2, func(b []octomesh.LedgerEntry) error {
			sizes = append(sizes, len(b))
			for _, e := range b {
				got = append(got, e.Attempt)
			}
			return nil
		})
		if err != nil || !cmp.Equal(got, tc.want) || skipped != tc.skipped {
			t.Errorf("%s: read %v skipping %d (%v); want %v skipping %d", tc.name, got, skipped, err, tc.want, tc.skipped)
		}
		for _, n := range sizes {
			if n > 2 {
				t.Errorf("%s: a batch of %d with max 2", tc.name, n)
			}
		}
	}
}

// FuzzDecodeRecord feeds arbitrary lines to the spool parser: it must
// never panic, and whatever it accepts must survive re-encoding.
func FuzzDecodeRecord(f *testing.F) {
	buf, err := encodeRecords([]octomesh.LedgerEntry{fullEntry(), entry("x", 1)})
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`{"v":1,"crc":"00000000","entry":null}`))
	f.Add([]byte(`{"v":1,"crc":"00000000","entry":{"start":"x"}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := decodeRecord(line)
		if err != nil {
			return
		}
		again, err := encodeRecords([]octomesh.LedgerEntry{e})
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		e2, err := decodeRecord(bytes.TrimSuffix(again, []byte("\n")))
		if err != nil {
			t.Fatalf("decode of a re-encoded record: %v", err)
		}
		if !cmp.Equal(e, e2) {
			t.Fatalf("re-encoded record differs:\n%+v\n%+v", e, e2)
		}
	})
}

// FuzzReadSegment feeds arbitrary segment bytes to the reader: it never
// panics, never hands over more than the batch size, and reads the same
// with a NUL tail (a mapped journal segment's preallocation) as without.
func FuzzReadSegment(f *testing.F) {
	buf, _ := encodeRecords([]octomesh.LedgerEntry{fullEntry(), entry("x", 1), entry("y", 2)})
	f.Add(buf)
	f.Add(buf[:len(buf)/2])
	f.Add(append(buf[:len(buf)/3:len(buf)/3], 0, 0, '\n'))
	f.Fuzz(func(t *testing.T, data []byte) {
		read := func(data []byte) (string, int) {
			var ids []string
			skipped, err := readSegment(bytes.NewReader(data), 2, func(b []octomesh.LedgerEntry) error {
				if len(b) == 0 || len(b) > 2 {
					t.Fatalf("batch of %d", len(b))
				}
				for _, e := range b {
					ids = append(ids, e.RequestID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return strings.Join(ids, ","), skipped
		}
		ids, skipped := read(data)
		ids2, skipped2 := read(append(data[:len(data):len(data)], make([]byte, 100)...))
		if ids != ids2 || skipped != skipped2 {
			t.Fatalf("read %q skipping %d; with a NUL tail %q skipping %d", ids, skipped, ids2, skipped2)
		}
	})
}
