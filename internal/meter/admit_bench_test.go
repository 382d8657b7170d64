package meter_test

import (
	"context"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
)

// BenchmarkAdmitWithLimits admits a request against all four per-minute
// limits (the key's and the organisation's requests and tokens) on
// in-memory counters, as a gateway does: into its own Admission.
func BenchmarkAdmitWithLimits(b *testing.B) {
	m := meter.New(meter.Options{Counters: limit.NewMemory(nil), KeyRPM: 1e9, KeyTPM: 1e12, OrgRPM: 1e9, OrgTPM: 1e12})
	p := &octomesh.Principal{OrgID: "org_a", KeyID: "key_1"}
	ctx := context.Background()
	var a meter.Admission
	b.ReportAllocs()
	for b.Loop() {
		if err := m.AdmitInto(ctx, &a, p, 100); err != nil || a.Tokens == nil {
			b.Fatal(err)
		}
	}
}
