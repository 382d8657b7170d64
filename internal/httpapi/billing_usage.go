package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
)

type usageReportJSON struct {
	Object  string                `json:"object"` // "list"
	Data    []billing.UsageView   `json:"data"`
	GroupBy []octomesh.UsageGroup `json:"group_by"`
}

// handleMyUsage is GET /v1/usage: the caller's own organisation's usage.
func (s *Server) handleMyUsage(w http.ResponseWriter, r *http.Request) {
	s.usage(w, r, octomesh.PrincipalFrom(r.Context()).OrgID)
}

// handleUsage is GET /v1/orgs/{org}/usage.
func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) {
	s.usage(w, r, r.PathValue("org"))
}

// usage answers a usage report, as JSON or as a CSV download.
func (s *Server) usage(w http.ResponseWriter, r *http.Request, org string) {
	meter, _, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := parseUsageQuery(r.URL.Query(), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := meter.UsageReport(r.Context(), org, q.filter, q.groups)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if q.format == "csv" {
		setDownload(w, "text/csv; charset=utf-8", "usage-"+org+".csv")
		w.WriteHeader(http.StatusOK)
		if err := billing.WriteUsageCSV(w, q.groups, rows); err != nil {
			panic(http.ErrAbortHandler) // the client went away; nothing more to say
		}
		return
	}
	out := usageReportJSON{Object: "list", Data: make([]billing.UsageView, len(rows)), GroupBy: q.groups}
	if out.GroupBy == nil {
		out.GroupBy = []octomesh.UsageGroup{}
	}
	for i, row := range rows {
		out.Data[i] = billing.ViewUsage(row)
	}
	writeJSON(w, http.StatusOK, out)
}

type ledgerPageJSON struct {
	Object       string              `json:"object"` // "list"
	Data         []billing.EntryView `json:"data"`
	HasMore      bool                `json:"has_more"`
	NextAfterSeq int64               `json:"next_after_seq,omitempty"` // pass as after_seq for the next page
}

// handleLedger is GET /v1/orgs/{org}/ledger: one JSON page of entries, or
// the whole matching ledger from after_seq on as a CSV or JSON Lines
// download, streamed page by page.
func (s *Server) handleLedger(w http.ResponseWriter, r *http.Request) {
	meter, _, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := parseUsageQuery(r.URL.Query(), true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, org := r.Context(), r.PathValue("org")
	switch q.format {
	case "csv", "ndjson":
		d := &download{w: w, contentType: "text/csv; charset=utf-8", name: "ledger-" + org + ".csv"}
		write := billing.WriteEntriesCSV
		if q.format == "ndjson" {
			d.contentType, d.name, write = "application/x-ndjson", "ledger-"+org+".ndjson", billing.WriteEntriesJSONL
		}
		if err := write(ctx, d, meter, org, q.filter); err != nil {
			if !d.started {
				s.fail(w, r, err)
				return
			}
			// Half a file was sent: break the connection rather than let
			// the client take a truncated export for a complete one.
			panic(http.ErrAbortHandler)
		}
		if !d.started { // an export of nothing still has its header row
			d.start()
		}
		return
	}
	limit := q.filter.Limit
	q.filter.Limit = limit + 1
	entries, err := meter.Entries(ctx, org, q.filter)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := ledgerPageJSON{Object: "list", HasMore: len(entries) > limit}
	if out.HasMore {
		entries = entries[:limit]
	}
	out.Data = make([]billing.EntryView, len(entries))
	for i := range entries {
		out.Data[i] = billing.ViewEntry(&entries[i])
	}
	if out.HasMore {
		out.NextAfterSeq = entries[len(entries)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
}

// download sends its headers and status with the first byte written, so an
// export that fails before producing anything can still answer an error.
type download struct {
	w                 http.ResponseWriter
	contentType, name string
	started           bool
}

func (d *download) start() {
	d.started = true
	setDownload(d.w, d.contentType, d.name)
	d.w.WriteHeader(http.StatusOK)
}

func (d *download) Write(p []byte) (int, error) {
	if !d.started {
		d.start()
	}
	n, err := d.w.Write(p)
	if err != nil {
		return n, errors.Join(errClientGone, err)
	}
	return n, nil
}

var errClientGone = errors.New("the client went away")

// setDownload marks a response as a file download. Names are built from
// validated ids only, so they need no quoting beyond the quotes.
func setDownload(w http.ResponseWriter, contentType, name string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}
