package sim

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// collect drains a stream, copying each chunk.
func collect(t testing.TB, f *Fleet, ctx context.Context, req *octomesh.ChatRequest) ([]octomesh.Chunk, error) {
	t.Helper()
	s, err := f.ChatStream(ctx, req)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []octomesh.Chunk
	for s.Next() {
		out = append(out, *s.Chunk())
	}
	return out, s.Err()
}

// streamText streams req and returns choice 0's text and the chunks.
func streamText(t testing.TB, f *Fleet, req *octomesh.ChatRequest) (string, []octomesh.Chunk, error) {
	t.Helper()
	chunks, err := collect(t, f, context.Background(), req)
	var b strings.Builder
	for _, c := range chunks {
		for _, ch := range c.Choices {
			if ch.Index == 0 {
				b.WriteString(ch.Delta.Content)
			}
		}
	}
	return b.String(), chunks, err
}

// settle waits for the goroutine count to return to at most before.
func settle(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d, want at most %d (a stream leaked one)", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamShape(t *testing.T) {
	f := newFleet(t, Options{})
	req := userReq("gpt-4o", "Explain how tides work.")
	resp := mustChat(t, f, req)
	req.Stream = true
	text, chunks, err := streamText(t, f, req)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(chunks) < 4 {
		t.Fatalf("got %d chunks, want role, content, finish and usage", len(chunks))
	}
	for i, c := range chunks {
		if c.ID != resp.ID || c.Object != octomesh.ObjectChatCompletionChunk || c.Created != fixedNow.Unix() || c.Model != "gpt-4o" {
			t.Errorf("chunk %d header = %q %q %d %q", i, c.ID, c.Object, c.Created, c.Model)
		}
	}
	first, finish, usage := chunks[0], chunks[len(chunks)-2], chunks[len(chunks)-1]
	if len(first.Choices) != 1 || first.Choices[0].Delta.Role != octomesh.RoleAssistant {
		t.Errorf("first chunk %+v, want a role chunk", first)
	}
	if len(finish.Choices) != 1 || finish.Choices[0].FinishReason != octomesh.FinishStop {
		t.Errorf("second-to-last chunk %+v, want the finish chunk", finish)
	}
	if usage.Choices == nil || len(usage.Choices) != 0 || usage.Usage == nil {
		t.Errorf("last chunk %+v, want usage with an empty choices array", usage)
	}
	if diff := cmp.Diff(resp.Usage, usage.Usage); diff != "" {
		t.Errorf("stream usage differs from Chat's (-chat +stream):\n%s", diff)
	}
	if want := resp.Choices[0].Message.Content.Text(); text != want {
		t.Errorf("streamed text %q, want Chat's %q", text, want)
	}
	for _, c := range chunks[1 : len(chunks)-2] {
		if d := c.Choices[0].Delta; d.Role != "" || d.Content == "" || c.Choices[0].FinishReason != "" || c.Usage != nil {
			t.Errorf("middle chunk %+v, want a content delta", c)
		}
		if n := len(splitTokens(c.Choices[0].Delta.Content)); n > 4 {
			t.Errorf("delta %q has %d tokens, want a few", c.Choices[0].Delta.Content, n)
		}
	}
}

func TestStreamToolCalls(t *testing.T) {
	f := newFleet(t, Options{})
	req := toolReq("gpt-4o-mini", "What's the weather in Paris and the time in Tokyo?", weatherTool, timeTool)
	resp := mustChat(t, f, req)
	req.Stream = true
	chunks, err := collect(t, f, context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	type call struct{ id, typ, name, args string }
	var calls []call
	for _, c := range chunks {
		for _, ch := range c.Choices {
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Index == nil {
					t.Fatalf("tool call delta without index: %+v", tc)
				}
				i := *tc.Index
				if i == len(calls) {
					if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
						t.Errorf("first fragment of call %d = %+v, want id, type and name", i, tc)
					}
					calls = append(calls, call{tc.ID, tc.Type, tc.Function.Name, ""})
				} else if i != len(calls)-1 || tc.ID != "" || tc.Function.Name != "" {
					t.Errorf("fragment %+v out of order or repeating the header", tc)
				}
				calls[i].args += tc.Function.Arguments
			}
		}
	}
	want := resp.Choices[0].Message.ToolCalls
	if len(calls) != len(want) || len(want) != 2 {
		t.Fatalf("streamed %d calls, Chat made %d; want 2 each", len(calls), len(want))
	}
	for i, w := range want {
		if got := calls[i]; got.id != w.ID || got.name != w.Function.Name || got.args != w.Function.Arguments {
			t.Errorf("call %d = %+v, want %+v", i, got, w)
		}
	}
	if fin := chunks[len(chunks)-2].Choices[0].FinishReason; fin != octomesh.FinishToolCalls {
		t.Errorf("finish = %q, want tool_calls", fin)
	}
}

func TestStreamSeveralChoices(t *testing.T) {
	f := newFleet(t, Options{})
	req := userReq("gpt-4o", "Name a colour.")
	req.N = intp(3)
	resp := mustChat(t, f, req)
	req.Stream = true
	chunks, err := collect(t, f, context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	text := make([]string, 3)
	roles, finishes := make([]int, 3), make([]int, 3)
	for _, c := range chunks[:len(chunks)-1] {
		if len(c.Choices) != 1 {
			t.Fatalf("chunk with %d choices, want 1", len(c.Choices))
		}
		ch := c.Choices[0]
		if finishes[ch.Index] > 0 {
			t.Errorf("choice %d continues after its finish chunk", ch.Index)
		}
		if ch.Delta.Role != "" {
			roles[ch.Index]++
		} else if roles[ch.Index] == 0 {
			t.Errorf("choice %d has content before its role chunk", ch.Index)
		}
		if ch.FinishReason != "" {
			finishes[ch.Index]++
		}
		text[ch.Index] += ch.Delta.Content
	}
	for i := range 3 {
		if roles[i] != 1 || finishes[i] != 1 || text[i] != resp.Choices[i].Message.Content.Text() {
			t.Errorf("choice %d: %d role chunks, %d finish chunks, text %q; want 1, 1, %q", i, roles[i], finishes[i], text[i], resp.Choices[i].Message.Content.Text())
		}
	}
}

func TestSpeedZeroIsFast(t *testing.T) {
	f := newFleet(t, Options{}) // Speed 0
	req := userReq("gpt-4-1106-preview", "Write a long essay about the history of the printing press.")
	req.N = intp(8)
	req.Stream = true
	start := time.Now()
	if _, err := collect(t, f, context.Background(), req); err != nil {
		t.Fatal(err)
	}
	// At Speed 1 this takes tens of seconds (30 tokens/s); allow for a loaded machine.
	if d := time.Since(start); d > time.Second {
		t.Errorf("a Speed 0 stream took %v", d)
	}
}

func TestLatencyIsSimulated(t *testing.T) {
	models := DefaultModels()[:1]
	models[0].TTFT, models[0].TailProb, models[0].TokensPerSec = 2*time.Second, 0, 1000
	f := newFleet(t, Options{Speed: 0.05, Models: models}) // median TTFT 100ms
	req := userReq(models[0].Name, "hello")
	start := time.Now()
	mustChat(t, f, req)
	chatTook := time.Since(start)
	req.Stream = true
	start = time.Now()
	s, err := f.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Next() {
		t.Fatal(s.Err())
	}
	ttft := time.Since(start)
	// The draw is deterministic; bounds are wide: e^(±4.6σ) around 100ms.
	for name, d := range map[string]time.Duration{"chat": chatTook, "ttft": ttft} {
		if d < 20*time.Millisecond || d > 2*time.Second {
			t.Errorf("%s took %v, want about 100ms", name, d)
		}
	}
	// A long simulated wait still ends as soon as ctx does.
	models[0].TTFT = time.Hour
	slow := newFleet(t, Options{Speed: 1, Models: models})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := slow.Chat(ctx, userReq(models[0].Name, "hello"))
		errc <- err
	}()
	select {
	case err := <-errc:
		wantCode(t, err, octomesh.ETIMEOUT)
	case <-time.After(20*time.Millisecond + time.Second):
		t.Fatal("Chat still waiting 1s after its deadline")
	}
}

func TestStreamCloseAndCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newFleet(t, Options{AllowFaultHints: true})
	stalled := func() *octomesh.ChatRequest {
		r := userReq("gpt-4o", "Tell me about otters.")
		r.Stream = true
		r.Metadata = map[string]string{FaultHintKey: string(FaultStall)}
		return r
	}
	for _, how := range []string{"cancel", "close", "deadline"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if how == "deadline" {
				ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
			}
			defer cancel()
			s, err := f.ChatStream(ctx, stalled())
			if err != nil {
				t.Fatal(err)
			}
			if !s.Next() {
				t.Fatalf("a stalling stream yielded no chunk first: %v", s.Err())
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for s.Next() {
				}
			}()
			time.Sleep(20 * time.Millisecond)
			switch how {
			case "cancel":
				cancel()
			case "close":
				s.Close()
			}
			wait := time.Second
			if how == "deadline" {
				wait += 300 * time.Millisecond
			}
			select {
			case <-done:
			case <-time.After(wait):
				t.Fatal("Next still blocked 1s after the stream was abandoned")
			}
			want := context.Canceled
			if how == "deadline" {
				wantCode(t, s.Err(), octomesh.ETIMEOUT)
			} else if !errors.Is(s.Err(), want) {
				t.Errorf("Err = %v, want %v", s.Err(), want)
			}
			if s.Next() {
				t.Errorf("Next after the end returned true")
			}
			s.Close()
			s.Close()
		})
	}
	settle(t, before)
}
