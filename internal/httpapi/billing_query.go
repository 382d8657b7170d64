package httpapi

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// Query limits of the usage and ledger routes.
const (
	defaultLedgerPage = 100
	maxLedgerPage     = 1000
	maxFilterValue    = 200
)

// usageQuery is a parsed usage or ledger query.
type usageQuery struct {
	filter octomesh.EntryFilter
	groups []octomesh.UsageGroup
	format string // json, csv, or (ledger) ndjson
}

// parseUsageQuery reads the query of the usage routes (ledger false) or of
// the ledger route (ledger true). Every parameter is optional:
//
//	from, to   RFC 3339 times or YYYY-MM-DD dates (UTC); from is inclusive,
//	           to exclusive, and a date for to includes that whole day
//	key, model, project, user   exact matches on the entry's key ID,
//	           deployment, project label and user ID
//	kind       usage, correction, topup (comma-separated); the usage routes
//	           default to usage,correction (spend), the ledger to all
//	group_by   (usage) day, model, key, user, project, kind, comma-separated
//	format     json (default) or csv; the ledger also takes ndjson
//	after_seq, limit  (ledger JSON pages) a seq to continue after, and
//	           1 to 1000 entries (default 100)
//
// Unknown or repeated parameters are refused, so a typo never silently
// widens a report. Errors are EINVALID naming the parameter; values are
// never echoed.
func parseUsageQuery(q url.Values, ledger bool) (*usageQuery, error) {
	allowed := []string{"from", "to", "key", "model", "project", "user", "kind", "format"}
	if ledger {
		allowed = append(allowed, "after_seq", "limit")
	} else {
		allowed = append(allowed, "group_by")
	}
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			return nil, octomesh.Errorf(octomesh.EINVALID, "unknown query parameter %q; this route takes %s", clip(k, 40), strings.Join(allowed, ", ")).WithParam(clip(k, 40))
		}
		if len(v) > 1 {
			return nil, octomesh.Errorf(octomesh.EINVALID, "the query parameter %s is given more than once", k).WithParam(k)
		}
	}
	out := &usageQuery{format: "json"}
	f := &out.filter
	var err error
	if f.From, err = parseQueryTime(q.Get("from"), "from", false); err != nil {
		return nil, err
	}
	if f.To, err = parseQueryTime(q.Get("to"), "to", true); err != nil {
		return nil, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return nil, octomesh.Errorf(octomesh.EINVALID, "to must be after from").WithParam("to")
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"key", &f.KeyID}, {"model", &f.Model}, {"project", &f.Project}, {"user", &f.UserID}} {
		v := q.Get(p.name)
		if len(v) > maxFilterValue || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, octomesh.Errorf(octomesh.EINVALID, "%s must be at most %d characters without control characters", p.name, maxFilterValue).WithParam(p.name)
		}
		*p.dst = v
	}
	if v := q.Get("kind"); v != "" {
		for _, k := range strings.Split(v, ",") {
			kind := octomesh.EntryKind(k)
			if !kind.Valid() || slices.Contains(f.Kinds, kind) {
				return nil, octomesh.Errorf(octomesh.EINVALID, "kind must be a comma-separated list of usage, correction, topup, each once").WithParam("kind")
			}
			f.Kinds = append(f.Kinds, kind)
		}
	} else if !ledger {
		f.Kinds = []octomesh.EntryKind{octomesh.EntryUsage, octomesh.EntryCorrection}
	}
	if v := q.Get("group_by"); v != "" {
		for _, g := range strings.Split(v, ",") {
			out.groups = append(out.groups, octomesh.UsageGroup(g))
		}
		if err := octomesh.ValidateGroups(out.groups); err != nil {
			return nil, octomesh.Errorf(octomesh.EINVALID, "group_by must be a comma-separated list of day, model, key, user, project, kind, each once").WithParam("group_by")
		}
	}
	formats := []string{"json", "csv"}
	if ledger {
		formats = append(formats, "ndjson")
	}
	if v := q.Get("format"); v != "" {
		if !slices.Contains(formats, v) {
			return nil, octomesh.Errorf(octomesh.EINVALID, "format must be one of %s", strings.Join(formats, ", ")).WithParam("format")
		}
		out.format = v
	}
	if ledger {
		f.Limit = defaultLedgerPage
		for _, n := range []struct {
			name     string
			min, max int64
		}{{"after_seq", 0, 1 << 62}, {"limit", 1, maxLedgerPage}} {
			v := q.Get(n.name)
			if v == "" {
				continue
			}
			x, ok := parseCount(v)
			if !ok || x < n.min || x > n.max {
				return nil, octomesh.Errorf(octomesh.EINVALID, "%s must be a whole number from %d to %d", n.name, n.min, n.max).WithParam(n.name)
			}
			if n.name == "limit" {
				f.Limit = int(x)
			} else {
				f.AfterSeq = x
			}
		}
	}
	return out, nil
}

// parseQueryTime reads an RFC 3339 time or a YYYY-MM-DD date (UTC). A
// date used as an exclusive end (endOfDay) means the end of that day.
func parseQueryTime(v, name string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if len(v) == len("2006-01-02") {
		d, err := time.Parse("2006-01-02", v)
		if err == nil && d.Year() >= 1970 {
			if endOfDay {
				d = d.AddDate(0, 0, 1)
			}
			return d, nil
		}
	} else if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.Year() >= 1970 && t.Year() <= 9999 {
		return t.UTC(), nil
	}
	return time.Time{}, octomesh.Errorf(octomesh.EINVALID, "%s must be an RFC 3339 time (2026-03-01T00:00:00Z) or a date (2026-03-01)", name).WithParam(name)
}
