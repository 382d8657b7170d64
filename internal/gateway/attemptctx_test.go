package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/cancelctx"
)

// An attempt's context is one context; the reason we ended it is kept
// beside it and read back as its cause, the first reason winning, as
// context.Cause of a cancel-cause context would report it.
func TestAttemptCause(t *testing.T) {
	newLA := func(parent context.Context, tm timeouts) *liveAttempt {
		a := &planned{timeouts: tm}
		la := &liveAttempt{a: a, ctx: cancelctx.New(parent)}
		t.Cleanup(func() {
			if la.timer != nil {
				la.timer.Stop()
			}
			la.ctx.Cancel(nil)
		})
		return la
	}
	t.Run("first reason wins", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{total: time.Hour})
		if la.cause() != nil {
			t.Fatalf("cause of a live attempt = %v, want nil", la.cause())
		}
		la.cancel(whyStalled)
		la.cancel(whyNoFirstByte)
		la.cancel(whyCanceled)
		if got := la.cause(); got != errStalled {
			t.Errorf("cause = %v, want %v", got, errStalled)
		}
		if la.ctx.Err() != context.Canceled {
			t.Errorf("Err = %v, want context.Canceled", la.ctx.Err())
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{})
		la.cancel(whyCanceled)
		la.cancel(whyStalled)
		if got := la.cause(); got != context.Canceled {
			t.Errorf("cause = %v, want context.Canceled", got)
		}
	})
	t.Run("deadline first", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{total: time.Millisecond})
		la.startTimer()
		<-la.ctx.Done()
		la.cancel(whyStalled) // too late: the deadline ended it
		if got := la.cause(); !errors.Is(got, context.DeadlineExceeded) {
			t.Errorf("cause = %v, want the deadline", got)
		}
	})
	// The total timeout is the attempt's one timer's, whichever of the
	// first-byte, idle and total deadlines it is serving.
	t.Run("total before the first byte", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{firstByte: time.Hour, idle: time.Hour, total: 5 * time.Millisecond})
		la.startTimer()
		<-la.ctx.Done()
		if got := la.cause(); got != context.DeadlineExceeded {
			t.Errorf("cause = %v, want context.DeadlineExceeded", got)
		}
	})
	t.Run("first byte before the total", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{firstByte: 5 * time.Millisecond, total: time.Hour})
		la.startTimer()
		<-la.ctx.Done()
		if got := la.cause(); got != errNoFirstByte {
			t.Errorf("cause = %v, want %v", got, errNoFirstByte)
		}
	})
	t.Run("total while content flows", func(t *testing.T) {
		// Chunks keep coming, well within the idle bound: the total
		// deadline still ends the attempt.
		const total = 60 * time.Millisecond
		la := newLA(context.Background(), timeouts{firstByte: time.Hour, idle: time.Hour, total: total})
		start := time.Now()
		la.startTimer()
		for la.ctx.Err() == nil {
			la.armIdle()
			time.Sleep(5 * time.Millisecond)
			if time.Since(start) > 30*time.Second {
				t.Fatal("the total deadline never ended the attempt")
			}
		}
		if got := la.cause(); got != context.DeadlineExceeded {
			t.Errorf("cause = %v, want context.DeadlineExceeded", got)
		}
		if el := time.Since(start); el < total {
			t.Errorf("ended after %v, before the %v total", el, total)
		}
	})
	t.Run("total without an idle bound", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{firstByte: time.Hour, total: 5 * time.Millisecond})
		la.startTimer()
		la.armIdle() // content: the timer now waits for the total alone
		<-la.ctx.Done()
		if got := la.cause(); got != context.DeadlineExceeded {
			t.Errorf("cause = %v, want context.DeadlineExceeded", got)
		}
	})
	t.Run("total alone", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{total: 5 * time.Millisecond})
		la.startTimer()
		<-la.ctx.Done()
		if got := la.cause(); got != context.DeadlineExceeded {
			t.Errorf("cause = %v, want context.DeadlineExceeded", got)
		}
	})
	t.Run("stall before the total", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{firstByte: time.Hour, idle: 5 * time.Millisecond, total: time.Hour})
		la.startTimer()
		la.armIdle()
		<-la.ctx.Done()
		if got := la.cause(); got != errStalled {
			t.Errorf("cause = %v, want %v", got, errStalled)
		}
	})
	t.Run("parent first", func(t *testing.T) {
		parent, cancel := context.WithCancelCause(context.Background())
		la := newLA(parent, timeouts{total: time.Hour})
		errGone := errors.New("client gone")
		cancel(errGone)
		<-la.ctx.Done()
		la.cancel(whyStalled)
		if got := la.cause(); got != errGone {
			t.Errorf("cause = %v, want the parent's", got)
		}
	})
	t.Run("first-byte timer then idle timer", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{firstByte: time.Hour, idle: 5 * time.Millisecond})
		la.timer = time.AfterFunc(la.a.firstByte, la.fire)
		la.armIdle() // content: the same timer now bounds the gap
		if !la.idling() {
			t.Fatal("armIdle did not turn the first-byte timer into the idle timer")
		}
		<-la.ctx.Done()
		if got := la.cause(); got != errStalled {
			t.Errorf("cause = %v, want %v", got, errStalled)
		}
	})
	t.Run("idle timer measures the gap since the last chunk", func(t *testing.T) {
		// Chunks every idle/4 for three idle periods: no stall, though
		// the timer is not Reset per chunk; then silence: a stall, no
		// sooner than idle after the last chunk and not much later.
		// A loaded machine can oversleep past the idle bound (a 10 ms
		// sleep took 61 ms under -race): then the stall is real and the
		// run proves nothing, so it is tried again, up to five times.
		const idle = 40 * time.Millisecond
		var la *liveAttempt
		var lastChunk time.Time
	tries:
		for try := 1; ; try++ {
			la = newLA(context.Background(), timeouts{firstByte: time.Hour, idle: idle})
			la.timer = time.AfterFunc(la.a.firstByte, la.fire)
			for range 12 {
				la.armIdle()
				lastChunk = time.Now()
				time.Sleep(idle / 4)
				if la.ctx.Err() != nil {
					if gap := time.Since(lastChunk); gap < idle {
						t.Fatalf("stalled %v after a chunk, with chunks every %v and an idle bound of %v", gap, idle/4, idle)
					} else if try < 5 {
						continue tries
					}
					t.Skipf("the machine paused the test past the idle bound in 5 tries")
				}
			}
			break
		}
		<-la.ctx.Done()
		gap := time.Since(lastChunk)
		if got := la.cause(); got != errStalled {
			t.Errorf("cause = %v, want %v", got, errStalled)
		}
		if gap < idle || gap > idle+time.Second {
			t.Errorf("stalled %v after the last chunk; want the idle bound, %v", gap, idle)
		}
	})
	t.Run("first byte passed before content", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{firstByte: time.Millisecond, idle: time.Hour})
		la.timer = time.AfterFunc(la.a.firstByte, la.fire)
		<-la.ctx.Done()
		la.armIdle() // content arrived just after the deadline
		if la.idling() {
			t.Error("armIdle armed the idle timer after the first-byte deadline ended the attempt")
		}
		if got := la.cause(); got != errNoFirstByte {
			t.Errorf("cause = %v, want %v", got, errNoFirstByte)
		}
	})
	t.Run("no idle bound", func(t *testing.T) {
		la := newLA(context.Background(), timeouts{firstByte: time.Hour})
		la.timer = time.AfterFunc(la.a.firstByte, la.fire)
		la.armIdle()
		la.armIdle()
		if la.timer != nil || la.idling() {
			t.Error("without an idle bound, content left a timer running")
		}
		if la.ctx.Err() != nil {
			t.Errorf("attempt ended: %v", la.ctx.Err())
		}
	})
}
