package billing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// SignatureTolerance is how far a webhook's signed timestamp may lie from
// now, either way, before the delivery is refused as a replay (Stripe's
// libraries use the same five minutes).
const SignatureTolerance = 5 * time.Minute

// maxSignatureHeader bounds the Stripe-Signature header we parse.
const maxSignatureHeader = 4096

// VerifySignature checks a Stripe-Signature header ("t=<unix>,v1=<hex>[,v1=…]")
// for payload: some v1 value must be the hex HMAC-SHA256, keyed with the
// endpoint's signing secret, of "<t>.<payload>", and t must lie within
// SignatureTolerance of now. Other schemes (v0) are ignored, several v1
// values are allowed (Stripe sends two while a secret is being rolled),
// and signatures are compared in constant time. It returns EINVALID saying
// which check failed, never echoing the header.
func VerifySignature(payload []byte, header string, secret octomesh.Secret, now time.Time) error {
	if secret == "" {
		return octomesh.Errorf(octomesh.EINVALID, "no webhook signing secret is configured")
	}
	if header == "" {
		return octomesh.Errorf(octomesh.EINVALID, "missing Stripe-Signature header")
	}
	if len(header) > maxSignatureHeader {
		return octomesh.Errorf(octomesh.EINVALID, "the Stripe-Signature header is too long")
	}
	var ts int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return octomesh.Errorf(octomesh.EINVALID, "malformed Stripe-Signature header")
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return octomesh.Errorf(octomesh.EINVALID, "malformed Stripe-Signature timestamp")
			}
			ts = n
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts < 0 {
		return octomesh.Errorf(octomesh.EINVALID, "the Stripe-Signature header has no timestamp")
	}
	if len(sigs) == 0 {
		return octomesh.Errorf(octomesh.EINVALID, "the Stripe-Signature header has no v1 signature")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return octomesh.Errorf(octomesh.EINVALID, "the webhook's timestamp is outside the %s tolerance", SignatureTolerance)
	}
	want := Sign(payload, ts, secret)
	ok := false
	for _, s := range sigs {
		// Check every signature (no early exit) in constant time.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return octomesh.Errorf(octomesh.EINVALID, "no valid Stripe signature for this payload")
	}
	return nil
}

// Sign returns Stripe's v1 signature of payload at unix time ts:
// HMAC-SHA256(secret, "<ts>.<payload>").
func Sign(payload []byte, ts int64, secret octomesh.Secret) []byte {
	m := hmac.New(sha256.New, []byte(secret.Reveal()))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(payload)
	return m.Sum(nil)
}

// SignatureHeader returns the Stripe-Signature header Stripe would send for
// payload at time t (for tests and local tooling).
func SignatureHeader(payload []byte, t time.Time, secret octomesh.Secret) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(Sign(payload, ts, secret))
}
