package limit_test

import (
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/limit/limittest"
)

func TestMemory(t *testing.T) {
	limittest.Run(t, func(t *testing.T, now func() time.Time) limit.Counters {
		return limit.NewMemory(now)
	})
}
