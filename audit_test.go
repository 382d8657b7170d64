package octomesh_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

func chain(n int) []*octomesh.AuditEntry {
	var out []*octomesh.AuditEntry
	prev := []byte{}
	for i := 1; i <= n; i++ {
		e := &octomesh.AuditEntry{Seq: int64(i), Time: time.Unix(int64(i), 5).UTC(), OrgID: "o", Action: octomesh.AuditKeyCreated,
			Target: "k", Actor: octomesh.Actor{Type: "key", KeyID: "key_1", Source: "10.0.0.1"}, Details: map[string]string{"role": "member"}, PrevHash: prev}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(es []*octomesh.AuditEntry, headSeq int64, headHash []byte) *octomesh.AuditReport {
	var v octomesh.AuditVerifier
	for _, e := range es {
		if !v.Check(e) {
			break
		}
	}
	return v.Finish(headSeq, headHash)
}

func TestAuditChain(t *testing.T) {
	es := chain(5)
	head := es[4]
	if r := verify(es, 5, head.Hash); !r.OK() || r.Entries != 5 || r.HeadSeq != 5 {
		t.Fatalf("intact chain: %+v", r)
	}
	// Every field is covered by the hash.
	edits := map[string]func(e *octomesh.AuditEntry){
		"time":    func(e *octomesh.AuditEntry) { e.Time = e.Time.Add(1) },
		"org":     func(e *octomesh.AuditEntry) { e.OrgID = "p" },
		"actor":   func(e *octomesh.AuditEntry) { e.Actor.KeyID = "key_2" },
		"source":  func(e *octomesh.AuditEntry) { e.Actor.Source = "10.0.0.2" },
		"action":  func(e *octomesh.AuditEntry) { e.Action = octomesh.AuditKeyRevoked },
		"target":  func(e *octomesh.AuditEntry) { e.Target = "x" },
		"details": func(e *octomesh.AuditEntry) { e.Details = map[string]string{"role": "owner"} },
		"extra":   func(e *octomesh.AuditEntry) { e.Details = map[string]string{"role": "member", "x": ""} },
		// Moving bytes between fields must not keep the hash: fields are length-prefixed.
		"shift": func(e *octomesh.AuditEntry) { e.OrgID, e.Actor.Type = "ok", "ey" },
	}
	for name, edit := range edits {
		es := chain(5)
		edit(es[2])
		if r := verify(es, 5, es[4].Hash); r.OK() || !strings.Contains(r.Problem, "entry 3 does not match") {
			t.Errorf("edit %s: %+v", name, r)
		}
	}
	// An edited entry whose hash was recomputed breaks the next link.
	es = chain(5)
	es[2].Target = "x"
	es[2].Hash = es[2].ComputeHash()
	if r := verify(es, 5, es[4].Hash); !strings.Contains(r.Problem, "entry 4 does not link to entry 3") {
		t.Errorf("rehashed edit: %+v", r)
	}
	es = chain(5)
	if r := verify(append(es[:2:2], es[3:]...), 5, es[4].Hash); !strings.Contains(r.Problem, "entries 3 to 3 are missing") {
		t.Errorf("deleted entry: %+v", r)
	}
	if r := verify(es[:4], 5, es[4].Hash); !strings.Contains(r.Problem, "log ends at entry 4") {
		t.Errorf("deleted tail: %+v", r)
	}
	if r := verify(es[1:], 5, es[4].Hash); !strings.Contains(r.Problem, "entries 1 to 1 are missing") {
		t.Errorf("deleted head: %+v", r)
	}
	if r := verify(nil, 0, nil); !r.OK() {
		t.Errorf("empty log: %+v", r)
	}
}

func TestAuditSanitize(t *testing.T) {
	e := &octomesh.AuditEntry{Target: "a\nb", Actor: octomesh.Actor{Source: "x\x1b[0m\u2066"}, Details: map[string]string{"k\r": "v\t" + strings.Repeat("é", 200)}}
	e.Sanitize()
	if e.Target != `a\nb` || e.Actor.Source != `x\x1b[0m\u2066` {
		t.Errorf("sanitised: %q %q", e.Target, e.Actor.Source)
	}
	for k, v := range e.Details {
		if k != `k\r` || !strings.HasPrefix(v, `v\t`) || len(v) > 260 || strings.ContainsAny(v, "\t") {
			t.Errorf("details %q=%q", k, v)
		}
	}
	if octomesh.SanitizeLogString("plain text, ünïcode") != "plain text, ünïcode" {
		t.Errorf("clean strings must pass unchanged")
	}
	if !bytes.Equal([]byte(octomesh.SanitizeLogString(`a\b`)), []byte(`a\\b`)) {
		t.Errorf("backslashes must be escaped so escapes cannot be forged")
	}
}
