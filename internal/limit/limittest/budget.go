package limittest

import (
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/limit"
)

const hour = time.Hour

func reserve(t *testing.T, c limit.Counters, id string, accts []limit.Account, amount int64, ttl time.Duration) int {
	t.Helper()
	refused, err := c.Reserve(t.Context(), id, accts, amount, ttl)
	if err != nil {
		t.Fatalf("Reserve(%q, %d): %v", id, amount, err)
	}
	return refused
}

func wantReserve(t *testing.T, c limit.Counters, id string, accts []limit.Account, amount int64, ttl time.Duration, want int) {
	t.Helper()
	if got := reserve(t, c, id, accts, amount, ttl); got != want {
		t.Errorf("Reserve(%q, %d) refused = %d, want %d", id, amount, got, want)
	}
}

func settle(t *testing.T, c limit.Counters, id string, accts []limit.Account, actual int64) {
	t.Helper()
	if err := c.Settle(t.Context(), id, accts, actual); err != nil {
		t.Fatalf("Settle(%q, %d): %v", id, actual, err)
	}
}

func release(t *testing.T, c limit.Counters, id string, accts []limit.Account) {
	t.Helper()
	if err := c.Release(t.Context(), id, accts); err != nil {
		t.Fatalf("Release(%q): %v", id, err)
	}
}

func adjust(t *testing.T, c limit.Counters, a limit.Account, delta int64) {
	t.Helper()
	if err := c.Adjust(t.Context(), a, delta); err != nil {
		t.Fatalf("Adjust(%s, %d): %v", a.Key, delta, err)
	}
}

func seed(t *testing.T, c limit.Counters, a limit.Account, spent int64) bool {
	t.Helper()
	ok, err := c.Seed(t.Context(), a, spent)
	if err != nil {
		t.Fatalf("Seed(%s, %d): %v", a.Key, spent, err)
	}
	return ok
}

func wantBalance(t *testing.T, c limit.Counters, a limit.Account, spent, reserved int64) {
	t.Helper()
	s, r, err := c.Balance(t.Context(), a)
	if err != nil {
		t.Fatalf("Balance(%s): %v", a.Key, err)
	}
	if s != spent || r != reserved {
		t.Errorf("Balance(%s) = spent %d, reserved %d; want %d, %d", a.Key, s, r, spent, reserved)
	}
}

func accts(a ...limit.Account) []limit.Account { return a }

func testReserveSettleRelease(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	hard := limit.Account{Key: "b:hard", Limit: 1000, Hard: true}
	soft := limit.Account{Key: "b:soft", Limit: 100}
	both := accts(hard, soft)
	wantBalance(t, c, hard, 0, 0)

	wantReserve(t, c, "r1", both, 300, hour, -1)
	wantBalance(t, c, hard, 0, 300)
	wantBalance(t, c, soft, 0, 300)
	wantReserve(t, c, "r2", both, 600, hour, -1)
	wantBalance(t, c, hard, 0, 900)
	wantReserve(t, c, "r3", both, 101, hour, 0) // 900 + 101 > 1000
	wantBalance(t, c, hard, 0, 900)
	wantBalance(t, c, soft, 0, 900)
	wantReserve(t, c, "r3", both, 100, hour, -1) // exactly at the limit
	wantBalance(t, c, hard, 0, 1000)
	release(t, c, "r3", both)
	wantBalance(t, c, hard, 0, 900)

	settle(t, c, "r1", both, 250)
	wantBalance(t, c, hard, 250, 600)
	wantBalance(t, c, soft, 250, 600)
	release(t, c, "r2", both)
	wantBalance(t, c, hard, 250, 0)
	wantBalance(t, c, soft, 250, 0)
	release(t, c, "r2", both) // again: nothing to drop
	release(t, c, "never", both)
	wantBalance(t, c, hard, 250, 0)

	wantReserve(t, c, "r4", both, 750, hour, -1)
	wantReserve(t, c, "r5", both, 1, hour, 0)
	wantReserve(t, c, "r6", both, 0, hour, -1) // nothing asked: fits while not over
	settle(t, c, "r4", both, 750)
	wantBalance(t, c, hard, 1000, 0)
	wantReserve(t, c, "r7", both, 1, hour, 0)

	// A settle without a reservation still spends (e.g. a node restarted).
	settle(t, c, "unreserved", accts(soft), 5)
	wantBalance(t, c, soft, 1005, 0)

	wantReserve(t, c, "none", nil, 5, hour, -1)
	settle(t, c, "none", nil, 5)
	release(t, c, "none", nil)
}

func testRefusalIndex(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	soft := limit.Account{Key: "soft", Limit: 1}
	roomy := limit.Account{Key: "roomy", Limit: 1000, Hard: true}
	full := limit.Account{Key: "full", Limit: 100, Hard: true}
	fuller := limit.Account{Key: "fuller", Limit: 50, Hard: true}
	adjust(t, c, full, 60)
	adjust(t, c, fuller, 50)
	all := accts(soft, roomy, full, fuller)
	wantReserve(t, c, "r", all, 41, hour, 2)
	wantReserve(t, c, "r", accts(fuller, full), 41, hour, 0)
	wantReserve(t, c, "r", accts(soft, roomy, fuller), 1, hour, 2)
	wantReserve(t, c, "r", accts(soft, roomy, full), 40, hour, -1)
	// Nothing reserved by the refusals.
	wantBalance(t, c, soft, 0, 40)
	wantBalance(t, c, roomy, 0, 40)
	wantBalance(t, c, full, 60, 40)
	wantBalance(t, c, fuller, 50, 0)
	// A hard limit of zero with nothing spent takes a zero reservation only.
	zero := limit.Account{Key: "zero", Hard: true}
	wantReserve(t, c, "z", accts(roomy, zero), 1, hour, 1)
	wantReserve(t, c, "z", accts(roomy, zero), 0, hour, -1)
}

func testSoftNeverRefuses(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	soft := limit.Account{Key: "soft", Limit: 10}
	wantReserve(t, c, "a", accts(soft), 100, hour, -1)
	wantReserve(t, c, "b", accts(soft), 1_000_000, hour, -1)
	wantBalance(t, c, soft, 0, 1_000_100)
	settle(t, c, "a", accts(soft), 150)
	settle(t, c, "b", accts(soft), 999)
	wantBalance(t, c, soft, 1149, 0)
	wantReserve(t, c, "c", accts(soft), 7, hour, -1)
	wantBalance(t, c, soft, 1149, 7)
}

func testSettleAboveReservation(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	hard := limit.Account{Key: "hard", Limit: 200, Hard: true}
	wantReserve(t, c, "a", accts(hard), 100, hour, -1)
	settle(t, c, "a", accts(hard), 180)
	wantBalance(t, c, hard, 180, 0)
	wantReserve(t, c, "b", accts(hard), 20, hour, -1)
	settle(t, c, "b", accts(hard), 90) // over the limit now: only by what was settled
	wantBalance(t, c, hard, 270, 0)
	wantReserve(t, c, "c", accts(hard), 0, hour, 0)
}

func testSettleAfterExpiry(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	hard := limit.Account{Key: "hard", Limit: 100, Hard: true}
	wantReserve(t, c, "a", accts(hard), 80, time.Second, -1)
	clk.Advance(999 * ms)
	wantBalance(t, c, hard, 0, 80)
	clk.Advance(1 * ms)
	wantBalance(t, c, hard, 0, 0)
	settle(t, c, "a", accts(hard), 70)
	wantBalance(t, c, hard, 70, 0)
	settle(t, c, "a", accts(hard), 70)
	wantBalance(t, c, hard, 70, 0)
}

func testDoubleSettle(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	a := limit.Account{Key: "a", Limit: 1000, Hard: true}
	b := limit.Account{Key: "b", Limit: 1000}
	wantReserve(t, c, "r", accts(a, b), 100, hour, -1)
	settle(t, c, "r", accts(a, b), 60)
	settle(t, c, "r", accts(a, b), 60)
	settle(t, c, "r", accts(a, b), 99) // a different actual is still a repeat
	wantBalance(t, c, a, 60, 0)
	wantBalance(t, c, b, 60, 0)
	release(t, c, "r", accts(a, b)) // after the settle: nothing to drop
	wantBalance(t, c, a, 60, 0)

	// Idempotent per id: a repeat naming one more account adds nothing there
	// either, nor does one naming fewer.
	nw := limit.Account{Key: "new", Limit: 1000}
	settle(t, c, "r", accts(a, nw), 60)
	settle(t, c, "r", accts(b), 60)
	wantBalance(t, c, a, 60, 0)
	wantBalance(t, c, b, 60, 0)
	wantBalance(t, c, nw, 0, 0)

	// Still remembered a minute later (the default is limit.DefaultSettledTTL).
	clk.Advance(time.Minute)
	settle(t, c, "r", accts(a, b), 60)
	wantBalance(t, c, a, 60, 0)

	// Each Reserve is settled once: reserved again, the id spends again.
	wantReserve(t, c, "r", accts(a), 100, hour, -1)
	settle(t, c, "r", accts(a), 5)
	settle(t, c, "r", accts(a), 5)
	wantBalance(t, c, a, 65, 0)

	// Concurrent repeats: exactly one spends.
	wantReserve(t, c, "s", accts(a, b), 100, hour, -1)
	done := make(chan error, 16)
	for range 16 {
		go func() { done <- c.Settle(t.Context(), "s", accts(a, b), 40) }()
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Fatalf("Settle: %v", err)
		}
	}
	wantBalance(t, c, a, 105, 0)
	wantBalance(t, c, b, 100, 0)
}

func testReserveAgainReplaces(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	hard := limit.Account{Key: "hard", Limit: 200, Hard: true}
	wantReserve(t, c, "r", accts(hard), 100, hour, -1)
	wantReserve(t, c, "r", accts(hard), 150, hour, -1) // 150 ≤ 200 once the old 100 is not counted
	wantBalance(t, c, hard, 0, 150)
	wantReserve(t, c, "r", accts(hard), 150, hour, -1) // a retry holds nothing twice
	wantBalance(t, c, hard, 0, 150)
	wantReserve(t, c, "r", accts(hard), 201, hour, 0) // refused: the old reservation stays
	wantBalance(t, c, hard, 0, 150)
	wantReserve(t, c, "q", accts(hard), 50, hour, -1)
	wantReserve(t, c, "r", accts(hard), 40, hour, -1)
	wantBalance(t, c, hard, 0, 90)
	settle(t, c, "r", accts(hard), 30)
	wantBalance(t, c, hard, 30, 50)
}

func testSeedOnce(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	a := limit.Account{Key: "a", Limit: 1000, Hard: true, TTL: hour}
	if !seed(t, c, a, 500) {
		t.Errorf("first Seed = false, want true")
	}
	if seed(t, c, a, 700) {
		t.Errorf("second Seed = true, want false")
	}
	wantBalance(t, c, a, 500, 0)
	wantReserve(t, c, "r", accts(a), 501, hour, 0)
	wantReserve(t, c, "r", accts(a), 500, hour, -1)

	// An account made by another call is not seeded.
	for i, first := range []func(limit.Account){
		func(b limit.Account) { reserve(t, c, "x", accts(b), 1, hour) },
		func(b limit.Account) { settle(t, c, "x", accts(b), 1) },
		func(b limit.Account) { adjust(t, c, b, 1) },
	} {
		b := limit.Account{Key: "made" + string(rune('0'+i)), Limit: 10}
		first(b)
		if seed(t, c, b, 9) {
			t.Errorf("Seed after call %d = true, want false", i)
		}
	}
	// Seeding may go negative (prepaid credit).
	p := limit.Account{Key: "prepaid", Hard: true}
	if !seed(t, c, p, -2000) {
		t.Errorf("Seed(prepaid) = false")
	}
	wantBalance(t, c, p, -2000, 0)

	// Concurrent seeds: exactly one wins.
	s := limit.Account{Key: "race", Limit: 10}
	wins := make(chan bool, 16)
	for i := range 16 {
		go func() {
			ok, err := c.Seed(t.Context(), s, int64(100+i))
			if err != nil {
				t.Errorf("Seed: %v", err)
			}
			wins <- ok
		}()
	}
	n := 0
	for range 16 {
		if <-wins {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d concurrent Seeds won, want 1", n)
	}
}

// testPrepaidTopUp: prepaid credit is a hard account with limit 0; a top-up
// is a negative Adjust.
func testPrepaidTopUp(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	credit := limit.Account{Key: "credit", Hard: true}
	wantReserve(t, c, "r1", accts(credit), 1, hour, 0)
	adjust(t, c, credit, -1000)
	wantBalance(t, c, credit, -1000, 0)
	wantReserve(t, c, "r1", accts(credit), 1000, hour, -1)
	wantReserve(t, c, "r2", accts(credit), 1, hour, 0)
	settle(t, c, "r1", accts(credit), 400)
	wantBalance(t, c, credit, -600, 0)
	wantReserve(t, c, "r2", accts(credit), 601, hour, 0)
	wantReserve(t, c, "r2", accts(credit), 600, hour, -1)
	adjust(t, c, credit, 25) // a correction upwards
	wantBalance(t, c, credit, -575, 600)
	release(t, c, "r2", accts(credit))
	wantReserve(t, c, "r3", accts(credit), 576, hour, 0)
	wantReserve(t, c, "r3", accts(credit), 575, hour, -1)
}

func testAccountTTL(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	day := limit.Account{Key: "day", Limit: 100, Hard: true, TTL: hour}
	forever := limit.Account{Key: "forever", Limit: 100, Hard: true}
	adjust(t, c, day, 5)
	adjust(t, c, forever, 5)
	clk.Advance(59 * time.Minute)
	wantBalance(t, c, day, 5, 0)
	adjust(t, c, day, 1) // a change: kept another hour
	clk.Advance(59 * time.Minute)
	wantBalance(t, c, day, 6, 0) // Balance is not a change
	clk.Advance(time.Minute)
	wantBalance(t, c, day, 0, 0)
	if !seed(t, c, day, 42) {
		t.Errorf("Seed after the account expired = false, want true")
	}
	wantBalance(t, c, day, 42, 0)

	// A reservation keeps its account alive until it lapses.
	short := limit.Account{Key: "short", Limit: 100, Hard: true, TTL: time.Minute}
	wantReserve(t, c, "r", accts(short), 30, 10*time.Minute, -1)
	clk.Advance(9 * time.Minute)
	wantBalance(t, c, short, 0, 30)
	settle(t, c, "r", accts(short), 20)
	clk.Advance(time.Minute)
	wantBalance(t, c, short, 20, 0)

	clk.Advance(1000 * hour)
	wantBalance(t, c, forever, 5, 0)
	wantBalance(t, c, short, 0, 0)
}

// testReservationExpires: a reservation not ended within its ttl is
// dropped, and the room it held is free again.
func testReservationExpires(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	hard := limit.Account{Key: "hard", Limit: 100, Hard: true}
	soft := limit.Account{Key: "soft", Limit: 100}
	wantReserve(t, c, "a", accts(hard, soft), 100, 200*ms, -1)
	clk.Advance(100 * ms)
	wantReserve(t, c, "b", accts(soft), 10, 200*ms, -1)
	wantReserve(t, c, "c", accts(hard), 1, hour, 0)
	clk.Advance(99 * ms)
	wantBalance(t, c, hard, 0, 100)
	wantBalance(t, c, soft, 0, 110)
	clk.Advance(1 * ms)
	wantReserve(t, c, "c", accts(hard), 1, hour, -1)
	wantBalance(t, c, hard, 0, 1)
	wantBalance(t, c, soft, 0, 10)
	clk.Advance(100 * ms)
	wantBalance(t, c, soft, 0, 0)
	release(t, c, "a", accts(hard, soft)) // already dropped: nothing happens
	wantBalance(t, c, hard, 0, 1)

	// Many lapse at once.
	for i := range 300 {
		wantReserve(t, c, "m"+string(rune('a'+i%26))+string(rune('a'+i/26)), accts(soft), 1, time.Second, -1)
	}
	wantBalance(t, c, soft, 0, 300)
	clk.Advance(time.Second)
	for range 2 { // implementations may purge in batches; a second call finishes
		if _, _, err := c.Balance(t.Context(), soft); err != nil {
			t.Fatal(err)
		}
	}
	wantBalance(t, c, soft, 0, 0)
}

func testReservationExpiresRealTime(t *testing.T, f Factory) {
	if testing.Short() {
		t.Skip("real-time test skipped in -short mode")
	}
	c := f(t, nil)
	hard := limit.Account{Key: "hard", Limit: 100, Hard: true}
	wantReserve(t, c, "a", accts(hard), 100, 200*ms, -1)
	wantReserve(t, c, "b", accts(hard), 1, hour, 0)
	wantBalance(t, c, hard, 0, 100)
	time.Sleep(300 * ms)
	wantBalance(t, c, hard, 0, 0)
	wantReserve(t, c, "b", accts(hard), 100, hour, -1)
}

func testBudgetInvalid(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	ctx := t.Context()
	ok := limit.Account{Key: "ok", Limit: 10, Hard: true}
	badAccts := map[string][]limit.Account{
		"empty key":    {{Key: "", Limit: 10}},
		"repeated key": {ok, {Key: "other"}, ok},
		"negative TTL": {{Key: "k", TTL: -time.Second}},
		"huge limit":   {{Key: "k", Limit: limit.MaxAmount + 1}},
	}
	for name, as := range badAccts {
		_, err := c.Reserve(ctx, "id", as, 1, hour)
		wantInvalid(t, "Reserve with "+name, err)
		wantInvalid(t, "Settle with "+name, c.Settle(ctx, "id", as, 1))
		wantInvalid(t, "Release with "+name, c.Release(ctx, "id", as))
		if name != "repeated key" {
			wantInvalid(t, "Adjust with "+name, c.Adjust(ctx, as[0], 1))
			_, err = c.Seed(ctx, as[0], 1)
			wantInvalid(t, "Seed with "+name, err)
			_, _, err = c.Balance(ctx, as[0])
			wantInvalid(t, "Balance with "+name, err)
		}
	}
	_, err := c.Reserve(ctx, "", accts(ok), 1, hour)
	wantInvalid(t, "Reserve with an empty id", err)
	_, err = c.Reserve(ctx, "id", accts(ok), -1, hour)
	wantInvalid(t, "Reserve of a negative amount", err)
	_, err = c.Reserve(ctx, "id", accts(ok), limit.MaxAmount+1, hour)
	wantInvalid(t, "Reserve of a huge amount", err)
	_, err = c.Reserve(ctx, "id", accts(ok), 1, 0)
	wantInvalid(t, "Reserve with a zero ttl", err)
	wantInvalid(t, "Settle with an empty id", c.Settle(ctx, "", accts(ok), 1))
	wantInvalid(t, "Settle of a negative actual", c.Settle(ctx, "id", accts(ok), -1))
	wantInvalid(t, "Release with an empty id", c.Release(ctx, "", accts(ok)))
	wantInvalid(t, "Adjust by a huge delta", c.Adjust(ctx, ok, -limit.MaxAmount-1))
	_, err = c.Seed(ctx, ok, limit.MaxAmount+1)
	wantInvalid(t, "Seed of a huge amount", err)
	// None of it changed anything.
	wantBalance(t, c, ok, 0, 0)
	if !seed(t, c, ok, 3) {
		t.Errorf("Seed after invalid calls = false: an invalid call created the account")
	}
}
