package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/octomesh/octomesh"
)

// maxWebhookBody bounds a webhook delivery. Stripe's events are a few
// kilobytes; a larger body is refused unread.
const maxWebhookBody = 256 << 10

type webhookAckJSON struct {
	Received bool   `json:"received"`
	EventID  string `json:"event_id"`
	Action   string `json:"action"`
}

// handleStripeWebhook is POST /v1/webhooks/stripe. It needs no API key: the
// Stripe-Signature header authenticates the delivery (billing.VerifySignature).
// A bad, stale or missing signature answers 400; an applied, duplicate or
// ignored event 200, so Stripe stops retrying; a store failure 5xx, so
// Stripe retries later. Answers never echo the payload.
func (s *Server) handleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	_, svc, err := s.metering()
	if err == nil && !svc.WebhookEnabled() {
		err = octomesh.Errorf(octomesh.ENOTFOUND, "Stripe webhooks are not enabled on this server (billing.stripe.webhook_secret)")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.ContentLength > maxWebhookBody {
		s.fail(w, r, tooLarge(maxWebhookBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, r, tooLarge(maxWebhookBody))
			return
		}
		s.fail(w, r, octomesh.Errorf(octomesh.EINVALID, "could not read the request body").WithCause(err))
		return
	}
	res, err := svc.HandleStripeWebhook(r.Context(), body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookAckJSON{Received: true, EventID: res.EventID, Action: res.Action})
}
