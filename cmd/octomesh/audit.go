package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/octomesh/octomesh"
)

const auditVerbs = "list|verify"

// auditCmd is `octomesh audit list|verify`.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	v, args, err := verb("audit", args, auditVerbs)
	if err != nil {
		return err
	}
	e := newAdminEnv("audit "+v, getenv, stdout, stderr)
	defer e.close()
	org := e.fs.String("org", "", "list: only this organisation's entries")
	action := e.fs.String("action", "", "list: only this action, e.g. key.revoked")
	target := e.fs.String("target", "", "list: only entries about this object id")
	limit := e.fs.Int("limit", 50, "list: at most this many entries, newest first")
	switch v {
	case "list", "verify":
	default:
		return unknownVerb("audit", v, auditVerbs)
	}
	if ctx, err = e.open(ctx, args); err != nil {
		return err
	}
	if v == "verify" {
		rep, err := e.st.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		if !rep.OK() {
			return fmt.Errorf("the audit log has been tampered with: %s (%d entries verified before it)", rep.Problem, rep.Entries)
		}
		fmt.Fprintf(stdout, "audit log intact: %d entries; head entry %d, sha256 %s\n", rep.Entries, rep.HeadSeq, hex.EncodeToString(rep.HeadHash))
		fmt.Fprintln(stdout, "Record the head elsewhere: a later verify that shows a different hash for this entry means the log was rewritten.")
		return nil
	}
	entries, err := e.st.ListAudit(ctx, octomesh.AuditFilter{OrgID: *org, Action: *action, Target: *target, Limit: *limit})
	if err != nil {
		return err
	}
	var rows [][]string
	for _, en := range entries {
		actor := safe(en.Actor.Type)
		if en.Actor.KeyID != "" {
			actor += ":" + safe(en.Actor.KeyID)
		}
		rows = append(rows, []string{fmt.Sprint(en.Seq), fmtTime(en.Time), safe(en.OrgID), actor, orDash(en.Actor.Source),
			safe(en.Action), orDash(en.Target), details(en.Details)})
	}
	table(stdout, "SEQ\tTIME\tORG\tACTOR\tSOURCE\tACTION\tTARGET\tDETAILS", rows)
	return nil
}

func details(d map[string]string) string {
	if len(d) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = safe(k) + "=" + safe(d[k])
	}
	return strings.Join(parts, " ")
}
