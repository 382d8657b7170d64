package octomesh

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// EntryKind says what a ledger entry records.
type EntryKind string

// Ledger entry kinds. The ledger is append-only: a mistake is fixed with a
// correction entry, never by editing an entry.
const (
	// EntryUsage is one upstream attempt of one request: its tokens and
	// cost. A failed attempt is recorded at zero cost (unless the provider
	// charges for it).
	EntryUsage EntryKind = "usage"
	// EntryCorrection adjusts an earlier entry (Ref names it); Cost and
	// token counts are deltas and may be negative.
	EntryCorrection EntryKind = "correction"
	// EntryTopUp adds prepaid credits: Cost is the (negative) amount
	// credited, so an organisation's balance is -(sum of Cost) over all
	// entries. Ref is the payment's external reference.
	EntryTopUp EntryKind = "topup"
)

// Valid reports whether k is a known kind.
func (k EntryKind) Valid() bool {
	return k == EntryUsage || k == EntryCorrection || k == EntryTopUp
}

// LedgerEntry is one line of an organisation's ledger. It holds metadata and
// counts only, never content. (RequestID, Attempt, Kind) identifies an entry
// within its organisation: appending the same triple again is a no-op, which
// makes writing it idempotent across retries, restarts and the local spool.
// (Another organisation's entry with the same triple is a different entry:
// one tenant's ids can never suppress another's usage.) RequestID must
// therefore be unique per request within the organisation: an id a client
// can choose and repeat would make its later requests free.
type LedgerEntry struct {
	Seq       int64     `json:"seq"` // assigned by the store, increasing in insertion order
	Kind      EntryKind `json:"kind"`
	OrgID     string    `json:"org_id"`
	KeyID     string    `json:"key_id,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	Project   string    `json:"project,omitempty"`
	RequestID string    `json:"request_id"`
	// Attempt numbers the request's upstream attempts from 1, in the order
	// they started. Top-ups and corrections use 0 unless they need more.
	Attempt      int    `json:"attempt"`
	Deployment   string `json:"deployment,omitempty"`
	Provider     string `json:"provider,omitempty"`
	PriceVersion string `json:"price_version,omitempty"`
	// Token counts by kind. CachedTokens and CacheWriteTokens are part of
	// PromptTokens.
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// Estimated is true when the provider reported no usage and the counts
	// are OctoMesh's tokenizer estimate.
	Estimated bool  `json:"estimated"`
	Cost      Money `json:"cost"`
	// Outcome is "ok", an error code, or "cancelled".
	Outcome string    `json:"outcome,omitempty"`
	Ref     string    `json:"ref,omitempty"`  // corrections: the corrected entry's request id; top-ups: the payment reference
	Note    string    `json:"note,omitempty"` // free text for corrections and top-ups (no content)
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// EntryFilter selects ledger entries. Zero fields do not filter. From is
// inclusive and To exclusive, on Start.
type EntryFilter struct {
	From, To time.Time
	KeyID    string
	UserID   string
	Project  string
	Model    string // deployment name
	Kinds    []EntryKind
	AfterSeq int64 // entries with Seq > AfterSeq (for paging and exports)
	Limit    int   // 0: the store's default page size
}

// UsageGroup names a dimension usage reports group by.
type UsageGroup string

// Usage report dimensions.
const (
	GroupDay     UsageGroup = "day" // UTC calendar day of Start
	GroupModel   UsageGroup = "model"
	GroupKey     UsageGroup = "key"
	GroupUser    UsageGroup = "user"
	GroupProject UsageGroup = "project"
	GroupKind    UsageGroup = "kind"
)

// UsageRow is one group of a usage report. Only the fields of the
// requested groups are set.
type UsageRow struct {
	Day              string    `json:"day,omitempty"` // YYYY-MM-DD
	Model            string    `json:"model,omitempty"`
	KeyID            string    `json:"key_id,omitempty"`
	UserID           string    `json:"user_id,omitempty"`
	Project          string    `json:"project,omitempty"`
	Kind             EntryKind `json:"kind,omitempty"`
	Requests         int64     `json:"requests"` // distinct request ids with a usage entry
	Attempts         int64     `json:"attempts"` // usage entries
	PromptTokens     int64     `json:"prompt_tokens"`
	CompletionTokens int64     `json:"completion_tokens"`
	CachedTokens     int64     `json:"cached_tokens"`
	CacheWriteTokens int64     `json:"cache_write_tokens"`
	EstimatedEntries int64     `json:"estimated_entries"`
	Cost             Money     `json:"cost"`
}

// LedgerStore keeps the ledger. Implementations: internal/sqlite and
// internal/postgres, both passing internal/storetest.
type LedgerStore interface {
	// AppendEntries stores entries in one transaction, skipping any whose
	// (OrgID, RequestID, Attempt, Kind) is already stored (in the store or
	// earlier in entries), and returns how many were new. It returns
	// EINVALID (and stores nothing) for an invalid entry. Entries of an
	// organisation that does not exist (deleted since the request) are
	// skipped too and not counted: erasure wins over late usage. Entries
	// are never updated or deleted afterwards (deleting an organisation
	// deletes its entries with it). Seq is assigned in commit order.
	AppendEntries(ctx context.Context, entries []LedgerEntry) (int, error)
	// Entries lists an organisation's entries matching f in Seq order, at
	// most f.Limit (0: DefaultEntryLimit; at most MaxEntryLimit). It
	// returns EINVALID for an invalid filter (see EntryFilter.Validate).
	Entries(ctx context.Context, orgID string, f EntryFilter) ([]LedgerEntry, error)
	// UsageReport aggregates an organisation's entries matching f (Limit
	// and AfterSeq ignored) by the groups given, ordered by the group
	// values in the order given (strings in byte order). No groups gives
	// one total row (zero when nothing matches). Every matching entry
	// counts, top-ups included: a spend report filters Kinds to usage and
	// correction. EINVALID for an unknown or repeated group.
	UsageReport(ctx context.Context, orgID string, f EntryFilter, groups []UsageGroup) ([]UsageRow, error)
	// SpendSince sums Cost over an organisation's entries with Start ≥
	// since (zero: all time) that match the budget subject (scope and
	// subject as in Budget: the entries' KeyID, UserID or Project equals
	// subject). Top-ups are not spend and are excluded. EINVALID for an
	// unknown scope, an org scope with a subject or another scope without.
	SpendSince(ctx context.Context, orgID string, scope BudgetScope, subject string, since time.Time) (Money, error)
	// Balance returns an organisation's prepaid balance: credited top-ups
	// minus all spend, i.e. -(sum of Cost over every entry).
	Balance(ctx context.Context, orgID string) (Money, error)
}

// Ledger page sizes for Entries.
const (
	DefaultEntryLimit = 1000
	MaxEntryLimit     = 10000
)

// Validate checks a filter: known kinds and a non-negative limit and seq.
func (f *EntryFilter) Validate() error {
	for _, k := range f.Kinds {
		if !k.Valid() {
			return Errorf(EINVALID, "invalid kind %q: want usage, correction or topup", k).WithParam("kind")
		}
	}
	switch {
	case f.Limit < 0:
		return Errorf(EINVALID, "limit must be ≥ 0").WithParam("limit")
	case f.AfterSeq < 0:
		return Errorf(EINVALID, "after_seq must be ≥ 0").WithParam("after_seq")
	case !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From):
		return Errorf(EINVALID, "to must be after from").WithParam("to")
	}
	return nil
}

// Valid reports whether g is a known usage report dimension.
func (g UsageGroup) Valid() bool {
	switch g {
	case GroupDay, GroupModel, GroupKey, GroupUser, GroupProject, GroupKind:
		return true
	}
	return false
}

// ValidateGroups checks usage report groups: known and each at most once.
func ValidateGroups(groups []UsageGroup) error {
	for i, g := range groups {
		if !g.Valid() {
			return Errorf(EINVALID, "invalid group %q: want day, model, key, user, project or kind", g).WithParam("group_by")
		}
		for _, h := range groups[:i] {
			if h == g {
				return Errorf(EINVALID, "group %q given twice", g).WithParam("group_by")
			}
		}
	}
	return nil
}

// ValidateSubject checks a budget scope and subject as SpendSince takes them.
func ValidateSubject(scope BudgetScope, subject string) error {
	switch {
	case !scope.Valid():
		return Errorf(EINVALID, "scope must be one of org, key, user, project").WithParam("scope")
	case scope == ScopeOrg && subject != "":
		return Errorf(EINVALID, "an org budget has no subject").WithParam("subject")
	case scope != ScopeOrg && subject == "":
		return Errorf(EINVALID, "a %s budget needs a subject", scope).WithParam("subject")
	}
	return nil
}

// Ledger text limits: identifiers and labels, and the free-text note.
const (
	maxEntryText = 200
	maxEntryNote = 1000
)

// checkEntryText requires valid UTF-8 of at most max bytes without control
// characters, so every store accepts the string (PostgreSQL refuses NUL
// and invalid UTF-8) and exports cannot carry forged lines.
func checkEntryText(field, s string, max int) error {
	if len(s) > max {
		return Errorf(EINVALID, "ledger entry: %s is longer than %d bytes", field, max).WithParam(field)
	}
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "ledger entry: %s is not valid UTF-8", field).WithParam(field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Errorf(EINVALID, "ledger entry: %s contains control characters", field).WithParam(field)
		}
	}
	return nil
}

// Validate checks an entry before it is stored: a known kind, a valid
// org_id, a request id, non-negative usage counts and cost, a negative
// top-up, a start time, and text fields every store accepts.
func (e *LedgerEntry) Validate() error {
	if err := e.validate(); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{
		{"request_id", e.RequestID, 128}, {"key_id", e.KeyID, maxEntryText}, {"user_id", e.UserID, maxEntryText},
		{"project", e.Project, maxEntryText}, {"deployment", e.Deployment, maxEntryText}, {"provider", e.Provider, maxEntryText},
		{"price_version", e.PriceVersion, maxEntryText}, {"outcome", e.Outcome, maxEntryText}, {"ref", e.Ref, maxEntryText},
		{"note", e.Note, maxEntryNote},
	} {
		if err := checkEntryText(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	return nil
}

func (e *LedgerEntry) validate() error {
	switch {
	case !e.Kind.Valid():
		return Errorf(EINVALID, "ledger entry: invalid kind %q", e.Kind).WithParam("kind")
	case !ValidID(e.OrgID):
		return Errorf(EINVALID, "ledger entry: invalid org_id").WithParam("org_id")
	case e.RequestID == "" || len(e.RequestID) > 128:
		return Errorf(EINVALID, "ledger entry: request_id must be 1 to 128 characters").WithParam("request_id")
	case e.Attempt < 0:
		return Errorf(EINVALID, "ledger entry: attempt must be ≥ 0").WithParam("attempt")
	case e.Kind == EntryUsage && (e.PromptTokens < 0 || e.CompletionTokens < 0 || e.CachedTokens < 0 || e.CacheWriteTokens < 0 || e.Cost < 0):
		return Errorf(EINVALID, "ledger entry: usage counts and cost must be ≥ 0").WithParam("cost")
	case e.Kind == EntryTopUp && e.Cost >= 0:
		return Errorf(EINVALID, "ledger entry: a top-up credits a negative cost").WithParam("cost")
	case e.Start.IsZero():
		return Errorf(EINVALID, "ledger entry: start is required").WithParam("start")
	}
	return nil
}

// BudgetScope says whose spending a budget counts.
type BudgetScope string

// Budget scopes. A request's spending counts against every budget whose
// scope matches it: its organisation's, its key's, its key's user's and its
// key's project's, plus the budgets its key lists in scopes.budgets.
const (
	ScopeOrg     BudgetScope = "org"
	ScopeKey     BudgetScope = "key"     // Subject is a key ID
	ScopeUser    BudgetScope = "user"    // Subject is a user ID
	ScopeProject BudgetScope = "project" // Subject is a project label
)

// Valid reports whether s is a known scope.
func (s BudgetScope) Valid() bool {
	return s == ScopeOrg || s == ScopeKey || s == ScopeUser || s == ScopeProject
}

// BudgetPeriod is the window a budget's spending is counted over.
type BudgetPeriod string

// Budget periods, in UTC: the calendar day, the calendar month, or all time.
const (
	PeriodDay   BudgetPeriod = "day"
	PeriodMonth BudgetPeriod = "month"
	PeriodTotal BudgetPeriod = "total"
)

// Valid reports whether p is a known period.
func (p BudgetPeriod) Valid() bool { return p == PeriodDay || p == PeriodMonth || p == PeriodTotal }

// Window returns the start and end of the period containing t (UTC). For
// PeriodTotal the start is zero and the end is the zero time too.
func (p BudgetPeriod) Window(t time.Time) (start, end time.Time) {
	t = t.UTC()
	switch p {
	case PeriodDay:
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	case PeriodMonth:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	return time.Time{}, time.Time{}
}

// Budget limits spending over a period. A hard budget refuses requests whose
// reservation would take it over its limit; a soft one lets them through and
// raises an alert when spending crosses AlertPercent of the limit.
type Budget struct {
	ID      string       `json:"id"`
	OrgID   string       `json:"org_id"`
	Name    string       `json:"name,omitempty"`
	Scope   BudgetScope  `json:"scope"`
	Subject string       `json:"subject,omitempty"` // "" for ScopeOrg
	Period  BudgetPeriod `json:"period"`
	Limit   Money        `json:"limit"`
	Hard    bool         `json:"hard"`
	// AlertPercent (1–100, default 80) is the share of Limit at which an
	// alert is raised, for hard and soft budgets alike.
	AlertPercent int       `json:"alert_percent"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Validate checks a budget's fields. It returns EINVALID naming the field.
func (b *Budget) Validate() error {
	switch {
	case !ValidID(b.ID):
		return Errorf(EINVALID, "invalid budget id").WithParam("id")
	case !ValidID(b.OrgID):
		return Errorf(EINVALID, "invalid organisation id").WithParam("org_id")
	case !b.Scope.Valid():
		return Errorf(EINVALID, "scope must be one of org, key, user, project").WithParam("scope")
	case b.Scope == ScopeOrg && b.Subject != "":
		return Errorf(EINVALID, "an org budget has no subject").WithParam("subject")
	case b.Scope != ScopeOrg && b.Subject == "":
		return Errorf(EINVALID, "a %s budget needs a subject (the %s it limits)", b.Scope, b.Scope).WithParam("subject")
	case !b.Period.Valid():
		return Errorf(EINVALID, "period must be one of day, month, total").WithParam("period")
	case b.Limit <= 0:
		return Errorf(EINVALID, "limit must be a positive amount of dollars").WithParam("limit")
	case b.AlertPercent < 0 || b.AlertPercent > 100:
		return Errorf(EINVALID, "alert_percent must be between 1 and 100").WithParam("alert_percent")
	}
	if err := checkText("subject", b.Subject, 0, maxNameLen); err != nil {
		return err
	}
	return checkText("name", b.Name, 0, maxNameLen)
}

// BudgetChanges names the fields that differ between two versions of a
// budget, for the audit log (names only, never values).
func BudgetChanges(old, new *Budget) []string {
	var c []string
	add := func(changed bool, name string) {
		if changed {
			c = append(c, name)
		}
	}
	add(old.Name != new.Name, "name")
	add(old.Limit != new.Limit, "limit")
	add(old.Hard != new.Hard, "hard")
	add(old.AlertPercent != new.AlertPercent, "alert_percent")
	return c
}

// DefaultAlertPercent is the alert threshold of a budget that sets none.
const DefaultAlertPercent = 80

// Audit actions of metering and billing changes.
const (
	AuditBudgetCreated      = "budget.created"
	AuditBudgetUpdated      = "budget.updated"
	AuditBudgetDeleted      = "budget.deleted"
	AuditBillingCustomerSet = "billing.customer_set"
)

// Applies reports whether b counts the spending of a request by p.
func (b *Budget) Applies(p *Principal) bool {
	if p == nil || b.OrgID != p.OrgID {
		return false
	}
	switch b.Scope {
	case ScopeOrg:
		return true
	case ScopeKey:
		if b.Subject == p.KeyID {
			return true
		}
	case ScopeUser:
		if p.UserID != "" && b.Subject == p.UserID {
			return true
		}
	case ScopeProject:
		if p.Project != "" && b.Subject == p.Project {
			return true
		}
	}
	for _, id := range p.Scopes.Budgets {
		if id == b.ID {
			return true
		}
	}
	return false
}

// BudgetStore keeps budgets. Changes are audited like other admin changes
// (with the actor in ctx). Implementations are safe for concurrent use.
type BudgetStore interface {
	// CreateBudget stores b (ID and OrgID set by the caller; times by the
	// store; AlertPercent 0 becomes DefaultAlertPercent). EINVALID for
	// invalid values or a duplicate ID, ENOTFOUND for an unknown
	// organisation.
	CreateBudget(ctx context.Context, b *Budget) error
	// UpdateBudget replaces the mutable fields (Name, Limit, Hard,
	// AlertPercent; 0 becomes DefaultAlertPercent) of budget b.ID in
	// b.OrgID and sets b's other fields to the stored ones. ENOTFOUND when
	// it does not exist in b.OrgID, EINVALID for invalid values.
	UpdateBudget(ctx context.Context, b *Budget) error
	// DeleteBudget removes a budget. ENOTFOUND when it does not exist in orgID.
	DeleteBudget(ctx context.Context, orgID, id string) error
	// Budget returns one budget of orgID, or ENOTFOUND.
	Budget(ctx context.Context, orgID, id string) (*Budget, error)
	// Budgets lists orgID's budgets ("" lists every organisation's, for
	// the serving nodes' cache), ordered by ID.
	Budgets(ctx context.Context, orgID string) ([]*Budget, error)
}

// BillingStore keeps what billing needs besides the ledger: each
// organisation's customer ID at the payment processor.
type BillingStore interface {
	// SetCustomerID records orgID's customer ID at processor (e.g.
	// "stripe"), replacing any earlier one; the change is audited.
	// EINVALID for an invalid processor or customer ID, or one another
	// organisation already has; ENOTFOUND for an unknown organisation.
	SetCustomerID(ctx context.Context, orgID, processor, customerID string) error
	// CustomerID returns orgID's customer ID at processor, or ENOTFOUND.
	CustomerID(ctx context.Context, orgID, processor string) (string, error)
	// OrgByCustomerID maps a processor's customer ID back to the
	// organisation, or ENOTFOUND (webhooks name the customer).
	OrgByCustomerID(ctx context.Context, processor, customerID string) (string, error)
}

// MeterStore is everything metering and billing keep in the database.
type MeterStore interface {
	LedgerStore
	BudgetStore
	BillingStore
}

// ValidateCustomer checks a payment processor's name and an organisation's
// customer ID there, as BillingStore takes them.
func ValidateCustomer(processor, customerID string) error {
	if !ValidID(processor) {
		return Errorf(EINVALID, "invalid payment processor name").WithParam("processor")
	}
	if err := checkText("customer_id", customerID, 1, 255); err != nil {
		return err
	}
	if strings.ContainsRune(customerID, ' ') {
		return Errorf(EINVALID, "customer_id contains spaces").WithParam("customer_id")
	}
	return nil
}
