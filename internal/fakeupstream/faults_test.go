package fakeupstream_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// The fault modes are checked through the real adapters, like the rest of
// the fakes: what an adapter makes of each fault is what the gateway sees.

// disconnected waits up to d for the fake to report a client disconnect.
func disconnected(t *testing.T, s interface{ Disconnects() <-chan time.Time }, d time.Duration) (time.Time, bool) {
	t.Helper()
	select {
	case at := <-s.Disconnects():
		return at, true
	case <-time.After(d):
		return time.Time{}, false
	}
}

func TestResetNext(t *testing.T) {
	for _, f := range fakes {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			s := f.new(t)
			p := f.adapter(t, s, s.Key())
			s.ResetNext()
			_, err := p.Chat(context.Background(), chatRequest(f.model, false))
			if got := octomesh.ErrorCodeOf(err); got != octomesh.EUPSTREAM {
				t.Errorf("after ResetNext: %v (code %q), want upstream_error", err, got)
			}
			if got := len(s.Requests()); got != 1 {
				t.Errorf("fake saw %d requests, want 1 (the reset one, not retried by the transport)", got)
			}
			if _, err := p.Chat(context.Background(), chatRequest(f.model, false)); err != nil {
				t.Errorf("request after the reset: %v", err)
			}
		})
	}
}

func TestHangNext(t *testing.T) {
	t.Parallel()
	f := fakes[0]
	s := f.new(t)
	p := f.adapter(t, s, s.Key())
	s.HangNext()
	start := time.Now() // before the deadline is set: it counts from here at the latest
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := p.Chat(ctx, chatRequest(f.model, false))
	if err == nil {
		t.Fatal("a hung request succeeded")
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("hung request returned after %v, before the client's deadline", d)
	}
	at, ok := disconnected(t, s, time.Second)
	if !ok {
		t.Fatal("the fake did not report the client going away")
	}
	if lag := at.Sub(start); lag > time.Second {
		t.Errorf("disconnect seen %v after the request began, want about 200ms", lag)
	}
	if _, err := p.Chat(context.Background(), chatRequest(f.model, false)); err != nil {
		t.Errorf("request after the hang: %v", err)
	}
}

func TestFailAlwaysAndFraction(t *testing.T) {
	t.Parallel()
	f := fakes[0]
	s := f.new(t)
	p := f.adapter(t, s, s.Key())
	ctx := context.Background()
	code := func() octomesh.ErrorCode {
		_, err := p.Chat(ctx, chatRequest(f.model, false))
		return octomesh.ErrorCodeOf(err)
	}
	s.FailAlways(http.StatusServiceUnavailable, "", nil)
	s.FailNext(http.StatusTooManyRequests, "", nil)
	var got []octomesh.ErrorCode
	for range 3 {
		got = append(got, code())
	}
	want := []octomesh.ErrorCode{octomesh.ERATELIMITED, octomesh.EOVERLOADED, octomesh.EOVERLOADED}
	if !equalCodes(got, want) {
		t.Errorf("during FailAlways(503) after FailNext(429): %q, want %q", got, want)
	}
	s.Recover()
	if c := code(); c != "" {
		t.Errorf("after Recover: %q, want success", c)
	}
	s.FailFraction(0.5, http.StatusInternalServerError)
	got = got[:0]
	for range 4 {
		got = append(got, code())
	}
	want = []octomesh.ErrorCode{"", octomesh.EUPSTREAM, "", octomesh.EUPSTREAM}
	if !equalCodes(got, want) {
		t.Errorf("FailFraction(0.5): %q, want %q", got, want)
	}
}

func equalCodes(a, b []octomesh.ErrorCode) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPauseStreamAfter(t *testing.T) {
	for _, f := range fakes {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			s := f.new(t)
			p := f.adapter(t, s, s.Key())

			// A slow first token: headers at once, content after the pause.
			// The pause is long so that the bound on the headers is far
			// above a loaded machine's scheduling delays (a 300 ms pause
			// with a 250 ms bound failed at 305 ms under load).
			s.PauseStreamAfter(0, time.Second)
			start := time.Now()
			st, err := p.ChatStream(context.Background(), chatRequest(f.model, true))
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 800*time.Millisecond {
				t.Errorf("ChatStream returned after %v; the headers should come before the pause", d)
			}
			c, err := collect(t, st)
			if err != nil || c.text != s.ReplyText(question) {
				t.Errorf("paused stream: %q, %v; want the whole answer", c.text, err)
			}
			if d := time.Since(start); d < time.Second {
				t.Errorf("paused stream took %v, want at least the 1s pause", d)
			}

			// A stall the client gives up on: the fake sees it go.
			s.PauseStreamAfter(3, time.Minute)
			ctx, cancel := context.WithCancel(context.Background())
			st, err = p.ChatStream(ctx, chatRequest(f.model, true))
			if err != nil {
				t.Fatal(err)
			}
			time.AfterFunc(100*time.Millisecond, cancel)
			start = time.Now()
			if _, err := collect(t, st); err == nil {
				t.Error("a stalled stream the client cancelled ended without error")
			}
			if _, ok := disconnected(t, s, time.Second); !ok {
				t.Error("the fake did not see the client leave a stalled stream")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("stall ended %v after the stream began, want about 100ms", d)
			}
		})
	}
}

func TestPauseHoldsACutStreamOpen(t *testing.T) {
	t.Parallel()
	f := fakes[0]
	s := f.new(t)
	p := f.adapter(t, s, s.Key())
	s.CutStreamAfter(100) // everything but [DONE]
	s.PauseStreamAfter(100, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	st, err := p.ChatStream(ctx, chatRequest(f.model, true))
	if err != nil {
		t.Fatal(err)
	}
	c, err := collect(t, st)
	if c.text != s.ReplyText(question) || c.finish != octomesh.FinishStop {
		t.Errorf("held stream gave %q (finish %q), want the whole answer and its finish reason", c.text, c.finish)
	}
	if err == nil {
		t.Error("a stream held open without [DONE] ended cleanly")
	}
}

func TestInjectStreamAfter(t *testing.T) {
	for _, f := range fakes {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			s := f.new(t)
			p := f.adapter(t, s, s.Key())
			s.InjectStreamAfter(3, "data: {\"broken\n\n")
			st, err := p.ChatStream(context.Background(), chatRequest(f.model, true))
			if err != nil {
				t.Fatal(err)
			}
			c, err := collect(t, st)
			var oe *octomesh.Error
			if !errors.As(err, &oe) || oe.Code != octomesh.EUPSTREAM {
				t.Errorf("stream with a malformed event: %v, want upstream_error", err)
			}
			if strings.Contains(c.text, "broken") || !strings.HasPrefix(s.ReplyText(question), c.text) {
				t.Errorf("text %q is not a prefix of the answer", c.text)
			}
		})
	}
}

func TestStrictPrefill(t *testing.T) {
	t.Parallel()
	f := fakes[1]
	s := f.new(t)
	p := f.adapter(t, s, s.Key())
	withPrefill := func(text string) *octomesh.ChatRequest {
		req := chatRequest(f.model, false)
		req.Messages = append(req.Messages, octomesh.Message{Role: octomesh.RoleAssistant, Content: octomesh.TextContent(text)})
		return req
	}
	ctx := context.Background()
	if _, err := p.Chat(ctx, withPrefill("It is sunny, ")); err != nil {
		t.Errorf("lenient fake, prefill ending in a space: %v", err)
	}
	s.StrictPrefill()
	// The fake refuses a prefill ending in whitespace, as the real API does;
	// the Anthropic adapter trims it, so requests through it pass.
	raw := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"It is sunny, "}]}`
	req, _ := http.NewRequest("POST", s.BaseURL()+"/v1/messages", strings.NewReader(raw))
	req.Header.Set("x-api-key", s.Key())
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("strict fake, raw prefill ending in a space: status %d, want 400", resp.StatusCode)
	}
	for _, text := range []string{"It is sunny, ", "It is sunny,\n"} {
		if _, err := p.Chat(ctx, withPrefill(text)); err != nil {
			t.Errorf("strict fake, prefill %q through the adapter (which trims it): %v", text, err)
		}
	}
	if _, err := p.Chat(ctx, withPrefill("It is sunny,")); err != nil {
		t.Errorf("strict fake, prefill without trailing whitespace: %v", err)
	}
	if _, err := p.Chat(ctx, chatRequest(f.model, false)); err != nil {
		t.Errorf("strict fake, no prefill: %v", err)
	}
}
