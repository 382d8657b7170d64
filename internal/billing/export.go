package billing

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/octomesh/octomesh"
)

// EntryView is a ledger entry as the API and the exports show it: the
// entry with its cost as a decimal dollar string.
type EntryView struct {
	Object string `json:"object"` // "ledger_entry"
	octomesh.LedgerEntry
	Cost Exact `json:"cost"`
}

// ViewEntry returns e's view.
func ViewEntry(e *octomesh.LedgerEntry) EntryView {
	v := EntryView{Object: "ledger_entry", LedgerEntry: *e, Cost: Exact(e.Cost)}
	v.Start, v.End = e.Start.UTC(), e.End.UTC()
	return v
}

// UsageView is a usage report row with its cost as a decimal dollar string.
type UsageView struct {
	Object string `json:"object"` // "usage"
	octomesh.UsageRow
	Cost Exact `json:"cost"`
}

// ViewUsage returns r's view.
func ViewUsage(r octomesh.UsageRow) UsageView {
	return UsageView{Object: "usage", UsageRow: r, Cost: Exact(r.Cost)}
}

// ExportPageSize is how many entries an export reads per store call.
const ExportPageSize = 1000

// EachEntry calls fn with each of orgID's entries matching f, in Seq order,
// reading pages of ExportPageSize with f.AfterSeq, so memory stays bounded
// whatever the ledger's size. f.Limit is ignored. It stops at the first
// error, from the store or from fn.
func EachEntry(ctx context.Context, ledger octomesh.LedgerStore, orgID string, f octomesh.EntryFilter, fn func(*octomesh.LedgerEntry) error) error {
	f.Limit = ExportPageSize
	for {
		page, err := ledger.Entries(ctx, orgID, f)
		if err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < ExportPageSize {
			return nil
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
}

// EntryCSVHeader is the header row of a ledger CSV export.
var EntryCSVHeader = []string{"seq", "kind", "org_id", "start", "end", "key_id", "user_id", "project", "request_id", "attempt",
	"deployment", "provider", "price_version", "prompt_tokens", "cached_tokens", "cache_write_tokens", "completion_tokens",
	"estimated", "cost", "outcome", "ref", "note"}

// WriteEntriesCSV streams orgID's entries matching f as CSV (RFC 4180, a
// header row, one row per entry, times in RFC 3339 UTC, cost in dollars).
// Text cells that a spreadsheet would run as a formula are defused (see
// csvText).
func WriteEntriesCSV(ctx context.Context, w io.Writer, ledger octomesh.LedgerStore, orgID string, f octomesh.EntryFilter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(EntryCSVHeader); err != nil {
		return err
	}
	err := EachEntry(ctx, ledger, orgID, f, func(e *octomesh.LedgerEntry) error {
		return cw.Write(entryRecord(e))
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func entryRecord(e *octomesh.LedgerEntry) []string {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []string{i(e.Seq), string(e.Kind), e.OrgID, csvTime(e.Start), csvTime(e.End), csvText(e.KeyID), csvText(e.UserID),
		csvText(e.Project), csvText(e.RequestID), strconv.Itoa(e.Attempt), csvText(e.Deployment), csvText(e.Provider),
		csvText(e.PriceVersion), i(e.PromptTokens), i(e.CachedTokens), i(e.CacheWriteTokens), i(e.CompletionTokens),
		strconv.FormatBool(e.Estimated), e.Cost.String(), csvText(e.Outcome), csvText(e.Ref), csvText(e.Note)}
}

// WriteEntriesJSONL streams orgID's entries matching f as JSON Lines: one
// EntryView object per line.
func WriteEntriesJSONL(ctx context.Context, w io.Writer, ledger octomesh.LedgerStore, orgID string, f octomesh.EntryFilter) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return EachEntry(ctx, ledger, orgID, f, func(e *octomesh.LedgerEntry) error {
		return enc.Encode(ViewEntry(e))
	})
}

// usageColumns names each group's CSV column.
var usageColumns = map[octomesh.UsageGroup]string{
	octomesh.GroupDay: "day", octomesh.GroupModel: "model", octomesh.GroupKey: "key_id",
	octomesh.GroupUser: "user_id", octomesh.GroupProject: "project", octomesh.GroupKind: "kind",
}

// WriteUsageCSV writes a usage report as CSV: one column per group, in
// the order grouped by, then the totals; one row per group.
func WriteUsageCSV(w io.Writer, groups []octomesh.UsageGroup, rows []octomesh.UsageRow) error {
	cw := csv.NewWriter(w)
	header := make([]string, 0, len(groups)+8)
	for _, g := range groups {
		header = append(header, usageColumns[g])
	}
	header = append(header, "requests", "attempts", "prompt_tokens", "cached_tokens", "cache_write_tokens", "completion_tokens", "estimated_entries", "cost")
	if err := cw.Write(header); err != nil {
		return err
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, r := range rows {
		rec := make([]string, 0, len(header))
		for _, g := range groups {
			var v string
			switch g {
			case octomesh.GroupDay:
				v = r.Day
			case octomesh.GroupModel:
				v = r.Model
			case octomesh.GroupKey:
				v = r.KeyID
			case octomesh.GroupUser:
				v = r.UserID
			case octomesh.GroupProject:
				v = r.Project
			case octomesh.GroupKind:
				v = string(r.Kind)
			}
			rec = append(rec, csvText(v))
		}
		rec = append(rec, i(r.Requests), i(r.Attempts), i(r.PromptTokens), i(r.CachedTokens), i(r.CacheWriteTokens),
			i(r.CompletionTokens), i(r.EstimatedEntries), r.Cost.String())
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvText defuses a text cell a spreadsheet would evaluate as a formula
// (one starting with =, +, -, @, a tab or a carriage return) by prefixing
// a single quote, as OWASP recommends for CSV exports. Numbers and amounts
// are written by the exporter itself and never pass through here.
func csvText(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
