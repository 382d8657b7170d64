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

// BenchmarkReserveSettleWithBudgets reserves and settles a request on an
// organisation's monthly budget and its key's daily one, as a gateway
// does: into its own Reservation.
func BenchmarkReserveSettleWithBudgets(b *testing.B) {
	r := newRig(b, meter.Options{})
	r.budget(b, octomesh.Budget{ID: "bud_org", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodMonth, Limit: 1e15, Hard: true})
	r.budget(b, octomesh.Budget{ID: "bud_key", OrgID: "org_a", Scope: octomesh.ScopeKey, Subject: "key_1", Period: octomesh.PeriodDay, Limit: 1e15})
	p := principal("org_a", "key_1")
	ctx := context.Background()
	var a meter.Admission
	var res meter.Reservation
	if err := r.m.AdmitInto(ctx, &a, p, 100); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.m.ReserveInto(ctx, &res, p, &a, "req_1", 10); err != nil {
			b.Fatal(err)
		}
		res.Release(ctx)
	}
}
