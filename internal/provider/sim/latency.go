package sim

import (
	"context"
	"math"
	"time"

	"github.com/octomesh/octomesh/internal/provider"
)

// Latency model constants.
const (
	ttftSigma     = 0.35                  // log-normal spread of the time to first token
	speedSigma    = 0.15                  // log-normal spread of the output speed
	prefillPerTok = 20 * time.Microsecond // prompt processing: 50k tokens/s
)

// timing is one call's simulated latency, already scaled by Speed.
type timing struct {
	ttft     time.Duration // before the first token
	perToken time.Duration // between output tokens
}

// timing draws the latency of this call of generation k on m: a log-normal
// TTFT around the model's median (times 3-10 with probability TailProb),
// plus prompt processing, and a log-normal output speed.
func (f *Fleet) timing(m *Model, k key, attempt uint64, promptTokens int) timing {
	if f.speed == 0 {
		return timing{}
	}
	r := k.rng("latency", attempt)
	ttft := float64(m.TTFT) * math.Exp(ttftSigma*r.NormFloat64())
	if r.Float64() < m.TailProb {
		ttft *= 3 + 7*r.Float64()
	}
	ttft += float64(promptTokens) * float64(prefillPerTok)
	t := timing{ttft: f.scale(time.Duration(ttft))}
	if m.TokensPerSec > 0 {
		tps := m.TokensPerSec * math.Exp(speedSigma*r.NormFloat64())
		t.perToken = f.scale(time.Duration(float64(time.Second) / tps))
	}
	return t
}

// sleep waits d or until ctx ends, whichever is first, returning the error
// a real adapter reports when the caller gives up. It starts no goroutine.
func (f *Fleet) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		if ctx.Err() != nil {
			return provider.TransportError(ctx, f.id, ctx.Err())
		}
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return provider.TransportError(ctx, f.id, ctx.Err())
	}
}
