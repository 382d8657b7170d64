package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// Webhook outcomes (WebhookResult.Action).
const (
	ActionCredited     = "credited"     // a top-up was recorded
	ActionDuplicate    = "duplicate"    // the payment was credited before: nothing recorded
	ActionAcknowledged = "acknowledged" // a known event with nothing to record (invoice.paid)
	ActionIgnored      = "ignored"      // an event type or payment that is not ours to apply
)

// WebhookResult says what a verified webhook did.
type WebhookResult struct {
	EventID string         `json:"event_id"`
	Type    string         `json:"type"`
	Action  string         `json:"action"`
	Reason  string         `json:"reason,omitempty"` // why an event was ignored
	OrgID   string         `json:"org_id,omitempty"`
	Amount  octomesh.Money `json:"-"`
}

// Top-up metadata: a Checkout Session or PaymentIntent that buys credits
// carries metadata {"purpose": "topup", "org_id": "<organisation id>"}.
const (
	MetaPurpose      = "purpose"
	MetaOrgID        = "org_id"
	PurposeTopUp     = "topup"
	ProcessorStripe  = "stripe"
	maxWebhookAmount = 10_000_000_000 // cents: $100M, far above any real top-up
)

// stripeEvent is the part of a Stripe event object we read.
type stripeEvent struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// stripePayment is the part of a Checkout Session, PaymentIntent or
// Invoice we read. Expandable fields (customer, payment_intent) are an ID
// or an object with one.
type stripePayment struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	PaymentStatus  string            `json:"payment_status"` // checkout.session: paid, unpaid, no_payment_required
	Status         string            `json:"status"`         // payment_intent: succeeded …
	AmountTotal    *int64            `json:"amount_total"`
	AmountReceived *int64            `json:"amount_received"`
	AmountPaid     *int64            `json:"amount_paid"`
	Currency       string            `json:"currency"`
	Customer       expandable        `json:"customer"`
	PaymentIntent  expandable        `json:"payment_intent"`
	Metadata       map[string]string `json:"metadata"`
}

// expandable is a Stripe field that is an ID, an expanded object with an
// "id", or null.
type expandable string

func (e *expandable) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*e = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*e = expandable(s)
		return err
	}
	var o struct {
		ID string `json:"id"`
	}
	err := json.Unmarshal(b, &o)
	*e = expandable(o.ID)
	return err
}

// HandleStripeWebhook verifies a Stripe webhook delivery and applies it:
//
//   - checkout.session.completed and checkout.session.async_payment_succeeded
//     with payment_status "paid", and payment_intent.succeeded, credit
//     the amount paid when the object's metadata says purpose=topup. The
//     organisation is metadata org_id, or the organisation whose Stripe
//     customer paid. The ledger entry's request id is "stripe:" plus the
//     PaymentIntent's ID (the session's when it has none), so a replayed
//     event, and the session and intent events of one payment, credit once.
//   - invoice.paid is acknowledged and logged: invoices are paid for usage
//     already in the ledger, so there is nothing to record.
//   - every other type is ignored.
//
// A bad or stale signature, or a payload that is not a Stripe event, is
// EINVALID (answer 400: Stripe will not retry). A payment that cannot be
// applied (unknown organisation, another currency, no amount) is ignored
// with a reason and logged: retrying would not help. Store failures are
// returned as they are (answer 5xx: Stripe retries later).
func (s *Service) HandleStripeWebhook(ctx context.Context, payload []byte, signature string) (*WebhookResult, error) {
	if err := VerifySignature(payload, signature, s.o.WebhookSecret, s.o.Now()); err != nil {
		return nil, err
	}
	var ev stripeEvent
	if err := json.Unmarshal(payload, &ev); err != nil || ev.Object != "event" || ev.ID == "" || ev.Type == "" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "the payload is not a Stripe event")
	}
	res := &WebhookResult{EventID: clipText(ev.ID, 100), Type: clipText(ev.Type, 100)}
	ignore := func(reason string) (*WebhookResult, error) {
		res.Action, res.Reason = ActionIgnored, reason
		s.o.Logger.LogAttrs(ctx, slog.LevelWarn, "stripe webhook ignored", slog.String("event", res.EventID),
			slog.String("type", res.Type), slog.String("reason", reason))
		return res, nil
	}
	var obj stripePayment
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded", "payment_intent.succeeded", "invoice.paid":
		if err := json.Unmarshal(ev.Data.Object, &obj); err != nil {
			return nil, octomesh.Errorf(octomesh.EINVALID, "the event's data.object is malformed")
		}
	default:
		res.Action, res.Reason = ActionIgnored, "event type not used by OctoMesh"
		return res, nil
	}

	var cents int64
	ref := string(obj.PaymentIntent)
	switch ev.Type {
	case "invoice.paid":
		res.Action = ActionAcknowledged
		s.o.Logger.LogAttrs(ctx, slog.LevelInfo, "stripe invoice paid", slog.String("event", res.EventID),
			slog.String("invoice", clipText(obj.ID, 100)), slog.String("org_id", clipText(obj.Metadata[MetaInvoiceOrg], 64)),
			slog.String("period", clipText(obj.Metadata[MetaInvoicePeriod], 16)))
		return res, nil
	case "payment_intent.succeeded":
		if obj.Object != "payment_intent" || obj.Status != "succeeded" || obj.AmountReceived == nil {
			return ignore("not a succeeded payment intent")
		}
		cents, ref = *obj.AmountReceived, obj.ID
	default: // Checkout Sessions
		if obj.Object != "checkout.session" || obj.PaymentStatus != "paid" || obj.AmountTotal == nil {
			return ignore("checkout session not paid")
		}
		cents = *obj.AmountTotal
		if ref == "" {
			ref = obj.ID
		}
	}
	if obj.Metadata[MetaPurpose] != PurposeTopUp {
		return ignore("not a top-up (metadata purpose is not \"topup\")")
	}
	if !strings.EqualFold(obj.Currency, s.o.Currency) {
		return ignore("currency differs from the configured " + s.o.Currency)
	}
	if cents <= 0 || cents > maxWebhookAmount {
		return ignore("amount out of range")
	}
	if ref == "" || len(ref) > 100 {
		return ignore("no payment reference")
	}
	org, reason, err := s.paymentOrg(ctx, obj)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return ignore(reason)
	}
	res.OrgID = org
	at := s.o.Now().UTC()
	if ev.Created > 0 {
		at = time.Unix(ev.Created, 0).UTC()
	}
	e := octomesh.LedgerEntry{Kind: octomesh.EntryTopUp, OrgID: org, RequestID: "stripe:" + ref, Cost: -Cents(cents).Money(),
		Ref: ref, Note: "Stripe " + res.Type + " " + res.EventID, Outcome: "ok", Start: at, End: at}
	c, err := s.credit(ctx, e)
	if err != nil {
		return nil, err
	}
	res.Amount = c.Amount
	res.Action = ActionDuplicate
	if c.Recorded {
		res.Action = ActionCredited
		s.o.Logger.LogAttrs(ctx, slog.LevelInfo, "stripe top-up credited", slog.String("event", res.EventID),
			slog.String("org_id", org), slog.String("amount", c.Amount.String()))
	}
	return res, nil
}

// paymentOrg finds the organisation a payment credits: metadata org_id,
// which must agree with the paying customer when that customer is one of
// ours, or else the customer's organisation. A reason says why none could
// be found; err is for store failures.
func (s *Service) paymentOrg(ctx context.Context, obj stripePayment) (org, reason string, err error) {
	org = obj.Metadata[MetaOrgID]
	if org != "" && !octomesh.ValidID(org) {
		return "", "metadata org_id is not an organisation id", nil
	}
	if obj.Customer != "" && s.o.Customers != nil {
		owner, err := s.o.Customers.OrgByCustomerID(ctx, ProcessorStripe, string(obj.Customer))
		switch {
		case err == nil && org != "" && owner != org:
			return "", "the paying customer belongs to another organisation than metadata org_id", nil
		case err == nil:
			org = owner
		case octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND:
			return "", "", err
		}
	}
	if org == "" {
		return "", "no organisation: metadata org_id is missing and the customer is unknown", nil
	}
	if _, err := s.o.Orgs.Org(ctx, org); err != nil {
		if octomesh.ErrorCodeOf(err) == octomesh.ENOTFOUND {
			return "", "unknown organisation", nil
		}
		return "", "", err
	}
	return org, "", nil
}
