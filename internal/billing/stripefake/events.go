package stripefake

import (
	"encoding/json"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// APIVersion is the API version the fake's events carry (stripe-go's).
const APIVersion = "2025-08-27.basil"

// Event returns the JSON of a Stripe event of type typ whose data.object is
// object, as Stripe delivers it to a webhook endpoint.
func Event(id, typ string, created time.Time, object map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": APIVersion, "created": created.Unix(), "livemode": false,
		"pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil}, "type": typ,
		"data": map[string]any{"object": object},
	})
	if err != nil {
		panic(err) // objects built by tests are always marshalable
	}
	return b
}

// Sign returns the Stripe-Signature header Stripe would send with payload
// at time t, computed by stripe-go's own test signer, so a verifier is
// checked against Stripe's implementation rather than against itself.
func Sign(payload []byte, t time.Time, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: t}).Header
}

// CheckoutSession returns a paid Checkout Session buying credits for org.
func CheckoutSession(id, paymentIntent, customer, org string, cents int64) map[string]any {
	return map[string]any{"id": id, "object": "checkout.session", "mode": "payment", "payment_status": "paid", "status": "complete",
		"amount_subtotal": cents, "amount_total": cents, "currency": "usd", "customer": nullable(customer),
		"payment_intent": nullable(paymentIntent), "metadata": map[string]any{"purpose": "topup", "org_id": org}}
}

// PaymentIntent returns a succeeded PaymentIntent buying credits for org.
func PaymentIntent(id, customer, org string, cents int64) map[string]any {
	return map[string]any{"id": id, "object": "payment_intent", "status": "succeeded", "amount": cents, "amount_received": cents,
		"currency": "usd", "customer": nullable(customer), "metadata": map[string]any{"purpose": "topup", "org_id": org}}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
