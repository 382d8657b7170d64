package limit

import (
	"time"

	"github.com/octomesh/octomesh"
)

// Validation shared by the implementations, so that they refuse exactly the
// same arguments with the same messages.

func invalid(format string, args ...any) error {
	return octomesh.Errorf(octomesh.EINVALID, "limit: "+format, args...)
}

func inRange(v int64) bool { return v >= -MaxAmount && v <= MaxAmount }

// validateChecks checks rate checks; allow forbids negative N (Charge
// accepts it).
func validateChecks(checks []RateCheck, allow bool) error {
	for i := range checks {
		c := &checks[i]
		switch {
		case c.Key == "":
			return invalid("check %d has an empty key", i)
		case c.Rate.Limit <= 0 || c.Rate.Limit > MaxAmount:
			return invalid("check %d: rate limit must be between 1 and %d", i, MaxAmount)
		case c.Rate.Period <= 0:
			return invalid("check %d: rate period must be positive", i)
		case c.Rate.Burst < 0 || c.Rate.Burst > MaxAmount:
			return invalid("check %d: burst must be between 0 and %d", i, MaxAmount)
		case !inRange(c.N) || (allow && c.N < 0):
			return invalid("check %d: n out of range", i)
		}
		for j := range i {
			if checks[j].Key == c.Key {
				return invalid("check %d repeats the key of check %d", i, j)
			}
		}
	}
	return nil
}

func validateAccount(a *Account) error {
	switch {
	case a.Key == "":
		return invalid("an account has an empty key")
	case !inRange(a.Limit):
		return invalid("account limit out of range")
	case a.TTL < 0:
		return invalid("account TTL must not be negative")
	}
	return nil
}

func validateAccounts(accts []Account) error {
	for i := range accts {
		if err := validateAccount(&accts[i]); err != nil {
			return err
		}
		for j := range i {
			if accts[j].Key == accts[i].Key {
				return invalid("account %d repeats the key of account %d", i, j)
			}
		}
	}
	return nil
}

func validateID(id string) error {
	if id == "" {
		return invalid("empty reservation id")
	}
	return nil
}

func validateAmount(name string, v int64) error {
	if v < 0 || v > MaxAmount {
		return invalid("%s must be between 0 and %d", name, MaxAmount)
	}
	return nil
}

func validateReserve(id string, accts []Account, amount int64, ttl time.Duration) error {
	if err := validateID(id); err != nil {
		return err
	}
	if err := validateAmount("amount", amount); err != nil {
		return err
	}
	if ttl <= 0 {
		return invalid("reservation ttl must be positive")
	}
	return validateAccounts(accts)
}

func validateSettle(id string, accts []Account, actual int64) error {
	if err := validateID(id); err != nil {
		return err
	}
	if err := validateAmount("actual", actual); err != nil {
		return err
	}
	return validateAccounts(accts)
}
