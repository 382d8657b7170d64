package harness

import (
	"sync"
	"time"

	"github.com/octomesh/octomesh/bench/procstat"
)

// Soak is the memory of a long run: RSS sampled through the window.
type Soak struct {
	IntervalS float64   `json:"interval_s"`
	RSSMB     []float64 `json:"rss_mb"` // one sample per interval, from the window's start
	StartMB   float64   `json:"start_mb"`
	EndMB     float64   `json:"end_mb"`
	MaxMB     float64   `json:"max_mb"`
	// SlopeMBPerMin is the least-squares slope of RSS over the window's
	// second half, after the first half has let the heap and the pools
	// reach their working size.
	SlopeMBPerMin float64 `json:"slope_mb_per_min"`
}

// soakInterval is the RSS sampling period.
const soakInterval = 5 * time.Second

type rssSampler struct {
	mu      sync.Mutex
	samples []float64
	done    chan struct{}
}

// sampleRSS samples pid's RSS every soakInterval from warmup on, for dur.
func sampleRSS(pid int, warmup, dur time.Duration) *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		time.Sleep(warmup)
		end := time.Now().Add(dur)
		t := time.NewTicker(soakInterval)
		defer t.Stop()
		for {
			if st, err := procstat.ReadTree(pid); err == nil {
				s.mu.Lock()
				s.samples = append(s.samples, mb(st.RSS))
				s.mu.Unlock()
			}
			if time.Now().Add(soakInterval).After(end) {
				return
			}
			<-t.C
		}
	}()
	return s
}

func (s *rssSampler) result() *Soak {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return soakOf(s.samples, soakInterval)
}

// soakOf summarises RSS samples taken every interval.
func soakOf(samples []float64, interval time.Duration) *Soak {
	if len(samples) == 0 {
		return nil
	}
	r := &Soak{IntervalS: interval.Seconds(), RSSMB: samples, StartMB: samples[0], EndMB: samples[len(samples)-1]}
	for _, v := range samples {
		r.MaxMB = max(r.MaxMB, v)
	}
	half := samples[len(samples)/2:]
	if len(half) >= 2 {
		var sx, sy, sxx, sxy float64
		n := float64(len(half))
		for i, y := range half {
			x := float64(i) * interval.Minutes()
			sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
		}
		if d := n*sxx - sx*sx; d != 0 {
			r.SlopeMBPerMin = (n*sxy - sx*sy) / d
		}
	}
	return r
}
