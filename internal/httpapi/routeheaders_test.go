package httpapi

import (
	"net/textproto"
	"testing"

	"github.com/octomesh/octomesh"
)

func TestRouteHeaders(t *testing.T) {
	svc := &fakeService{}
	s := newTestServer(t, svc)
	body := `{"model":"fake/m","messages":[{"role":"user","content":"hi"}],"octomesh":{"objective":"cheapest","regions":["us"]}}`
	w := do(t, s, "POST", "/v1/chat/completions", body,
		"X-Octomesh-Objective", "fastest", "X-Octomesh-Zero-Retention", "true", "X-Octomesh-Regions", "eu, us",
		"X-Octomesh-Fallbacks", "a, b", "X-Octomesh-Max-Cost-Usd", "0.05", "X-Octomesh-Timeout-Ms", "2000")
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	o := svc.last.Octomesh
	if o == nil || o.Objective != octomesh.ObjectiveCheapest || !o.ZeroRetention || len(o.Regions) != 1 || o.Regions[0] != "us" ||
		len(o.Fallbacks) != 2 || o.Fallbacks[1] != "b" || o.MaxCostUSD != "0.05" || o.TimeoutMS != 2000 {
		t.Errorf("options = %+v (the body's objective and regions win; headers fill the rest)", o)
	}
	for _, h := range [][2]string{{"X-Octomesh-Zero-Retention", "perhaps"}, {"X-Octomesh-Max-Cost-Usd", "cheap"}, {"X-Octomesh-Timeout-Ms", "-1"}} {
		w := do(t, s, "POST", "/v1/chat/completions", okChat, h[0], h[1])
		if w.Code != 400 {
			t.Errorf("%s: %s → %d", h[0], h[1], w.Code)
		}
	}
	svc.last = nil
	do(t, s, "POST", "/v1/chat/completions", okChat)
	if svc.last.Octomesh != nil {
		t.Errorf("no headers, no body options: got %+v", svc.last.Octomesh)
	}
}

// TestRouteHeaderNamesAreCanonical: applyRouteHeaders looks the names up in
// the header map directly, which finds only canonical keys.
func TestRouteHeaderNamesAreCanonical(t *testing.T) {
	for _, name := range []string{hdrObjective, hdrZeroRetention, hdrNoTraining, hdrRegions, hdrFallbacks, hdrMaxCost, hdrQualityFloor, hdrTimeoutMS} {
		if c := textproto.CanonicalMIMEHeaderKey(name); c != name {
			t.Errorf("%q is not canonical (%q)", name, c)
		}
	}
}
