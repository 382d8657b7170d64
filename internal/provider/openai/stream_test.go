package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// drain reads s to its end and returns each chunk as canonical JSON.
func drain(t *testing.T, s octomesh.ChatStream) ([]string, error) {
	t.Helper()
	defer s.Close()
	var out []string
	for s.Next() {
		b, err := json.Marshal(s.Chunk())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out, s.Err()
}

// streamOf returns a stream over the raw SSE body.
func streamOf(body string) *stream {
	return newStream(context.Background(), func() {}, "test", io.NopCloser(strings.NewReader(body)))
}

const (
	hdr     = `"id":"c1","object":"chat.completion.chunk","created":1,"model":"m"`
	roleEvt = `data: {` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
	roleOut = `{` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant"}}]}`
	doneEvt = "data: [DONE]\n\n"
)

func TestStreamParsing(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     []string
		wantCode octomesh.ErrorCode // "" for a clean end
	}{
		{
			name:     "error event with rate limit",
			body:     roleEvt + "event: error\ndata: {\"error\":{\"message\":\"Rate limit reached CANARY\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n",
			want:     []string{roleOut},
			wantCode: octomesh.ERATELIMITED,
		},
		{
			name:     "error event without JSON",
			body:     "event: error\ndata: upstream exploded CANARY\n\n",
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "OpenRouter mid-stream error with numeric code",
			body:     roleEvt + `data: {` + hdr + `,"error":{"code":502,"message":"Provider disconnected CANARY"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}` + "\n\n" + doneEvt,
			want:     []string{roleOut},
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "OpenRouter mid-stream rate limit",
			body:     `data: {"error":{"code":429,"message":"CANARY"}}` + "\n\n",
			wantCode: octomesh.ERATELIMITED,
		},
		{
			name:     "mid-stream context length error",
			body:     `data: {"error":{"message":"This model's maximum context length is 8192 tokens CANARY","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}` + "\n\n",
			wantCode: octomesh.ECONTEXTLENGTH,
		},
		{
			name:     "vLLM legacy error object",
			body:     `data: {"object":"error","message":"CANARY bad","type":"BadRequestError","param":null,"code":400}` + "\n\n",
			wantCode: octomesh.EINVALID,
		},
		{
			name:     "error as a string",
			body:     `data: {"error":"something broke CANARY"}` + "\n\n",
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "chunk that is a JSON array",
			body:     roleEvt + "data: [1,2]\n\n" + doneEvt,
			want:     []string{roleOut},
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "chunk with a field of the wrong type",
			body:     `data: {` + hdr + `,"choices":[{"index":"0","delta":{"content":"x"}}]}` + "\n\n" + doneEvt,
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "choice index out of range",
			body:     roleEvt + `data: {` + hdr + `,"choices":[{"index":128,"delta":{"content":"x"}}]}` + "\n\n" + doneEvt,
			want:     []string{roleOut},
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "negative choice index",
			body:     `data: {` + hdr + `,"choices":[{"index":-1,"delta":{"content":"x"}}]}` + "\n\n" + doneEvt,
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name: "highest allowed choice index",
			body: `data: {` + hdr + `,"choices":[{"index":127,"delta":{"content":"x"}}]}` + "\n\n" + doneEvt,
			want: []string{`{` + hdr + `,"choices":[{"index":127,"delta":{"role":"assistant","content":"x"}}]}`},
		},
		{
			name:     "ends inside an event",
			body:     roleEvt + `data: {` + hdr + `,"choices":[{"index":0,"delta":{"content":"x"}}]}`,
			want:     []string{roleOut},
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "empty body",
			body:     "",
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "event over the size limit",
			body:     roleEvt + "data: {\"x\":\"" + strings.Repeat("a", maxEvent) + "\"}\n\n" + doneEvt,
			want:     []string{roleOut},
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name: "tool call deltas without index get their position",
			body: `data: {` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[` +
				`{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},` +
				`{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]}}]}` + "\n\n" + doneEvt,
			want: []string{`{` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[` +
				`{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},` +
				`{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]}}]}`},
		},
		{
			name: "two choices each get the role once",
			body: `data: {` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"a"}},{"index":1,"delta":{"content":"b"}}]}` + "\n\n" +
				`data: {` + hdr + `,"choices":[{"index":1,"delta":{"role":"assistant","content":"c"}},{"index":0,"delta":{"content":"d"}}]}` + "\n\n" + doneEvt,
			want: []string{
				`{` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"a"}},{"index":1,"delta":{"role":"assistant","content":"b"}}]}`,
				`{` + hdr + `,"choices":[{"index":1,"delta":{"content":"c"}},{"index":0,"delta":{"content":"d"}}]}`,
			},
		},
		{
			name: "usage on several chunks is reported once, the last one, after the finish",
			body: `data: {` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}` + "\n\n" +
				`data: {` + hdr + `,"choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}` + "\n\n" + doneEvt,
			want: []string{
				`{` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}`,
				`{` + hdr + `,"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`,
				`{` + hdr + `,"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
			},
		},
		{
			name: "usage chunk with null choices",
			body: roleEvt + `data: {` + hdr + `,"choices":null,"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}` + "\n\n" + doneEvt,
			want: []string{roleOut, `{` + hdr + `,"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`},
		},
		{
			name: "a later delta with only a repeated role is dropped",
			body: roleEvt + `data: {` + hdr + `,"choices":[{"index":0,"delta":{"role":"assistant"}}]}` + "\n\n" + doneEvt,
			want: []string{roleOut},
		},
		{
			name: "refusal deltas are kept",
			body: roleEvt + `data: {` + hdr + `,"choices":[{"index":0,"delta":{"refusal":"I can't"}}]}` + "\n\n" + doneEvt,
			want: []string{roleOut, `{` + hdr + `,"choices":[{"index":0,"delta":{"refusal":"I can't"}}]}`},
		},
		{
			name: "CRLF line endings, comments, empty data and data after [DONE]",
			body: ": OPENROUTER PROCESSING\r\n\r\n" + strings.ReplaceAll(roleEvt, "\n", "\r\n") + "data:\r\n\r\n" + "data: [DONE]\r\n\r\n" + "data: {garbage after the end\r\n\r\n",
			want: []string{roleOut},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// At once, and with a wait before every event (when the
			// stream lets go of the last chunk and of its blocks).
			for i, s := range []*stream{streamOf(tt.body), waitingStreamOf(tt.body)} {
				if i == 1 {
					s.body.(*eventAtATime).waiting = func() {
						if holdsBlocks(&s.dec) {
							t.Errorf("a stream waiting holds blocks besides its own room")
						}
					}
				}
				got, err := drain(t, s)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("chunks mismatch (-want +got):\n%s", diff)
				}
				if code := errCode(t, err); code != tt.wantCode {
					t.Errorf("error code = %q (err %v), want %q", code, err, tt.wantCode)
				}
			}
		})
	}
}

// waitingStreamOf returns a stream over the raw SSE body that arrives an
// event at a time, each after a wait.
func waitingStreamOf(body string) *stream {
	return newStream(context.Background(), func() {}, "test", &eventAtATime{rest: body})
}

// eventAtATime is a body whose reads end at an event's end, and which has
// nothing buffered when asked: as a slow stream's body, each of whose
// events comes after a wait.
type eventAtATime struct {
	rest    string
	waiting func() // if set, called at every read: the stream waits
}

func (e *eventAtATime) Read(p []byte) (int, error) {
	if e.waiting != nil {
		e.waiting()
	}
	if e.rest == "" {
		return 0, io.EOF
	}
	n := len(e.rest)
	if i := strings.Index(e.rest, "\n\n"); i >= 0 {
		n = i + 2
	}
	n = copy(p, e.rest[:n])
	e.rest = e.rest[n:]
	return n, nil
}

func (*eventAtATime) Close() error  { return nil }
func (*eventAtATime) Buffered() int { return 0 }
func (*eventAtATime) WaitData()     {}

func TestStreamEndIsSticky(t *testing.T) {
	s := streamOf(roleEvt + doneEvt)
	if !s.Next() {
		t.Fatalf("no first chunk: %v", s.Err())
	}
	for i := 0; i < 3; i++ {
		if s.Next() {
			t.Fatalf("Next #%d after [DONE] = true", i+2)
		}
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err = %v, want nil after [DONE]", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestStreamCloseBeforeNext(t *testing.T) {
	closed := 0
	body := closeCounter{Reader: strings.NewReader(roleEvt + doneEvt), n: &closed}
	cancelled := false
	s := newStream(context.Background(), func() { cancelled = true }, "test", body)
	s.Close()
	s.Close()
	if s.Next() {
		t.Error("Next after Close = true")
	}
	if closed != 1 || !cancelled {
		t.Errorf("body closed %d times, cancelled %v; want once and true", closed, cancelled)
	}
}

type closeCounter struct {
	io.Reader
	n *int
}

func (c closeCounter) Close() error { *c.n++; return nil }

func TestChatStreamJSONInsteadOfStream(t *testing.T) {
	tests := []struct {
		name string
		body string
		want octomesh.ErrorCode
	}{
		{"error object", `{"error":{"message":"CANARY","type":"requests","code":"rate_limit_exceeded"}}`, octomesh.ERATELIMITED},
		{"a whole completion", `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"CANARY"},"finish_reason":"stop"}]}`, octomesh.EUPSTREAM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, http.StatusOK, "application/json; charset=utf-8", tt.body)
			_, err := u.client(t, Config{}).ChatStream(context.Background(), simpleRequest(true))
			if got := errCode(t, err); got != tt.want {
				t.Errorf("error code = %q (err %v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestStreamDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, roleEvt)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, err := New(Config{ID: "t", BaseURL: srv.URL, Auth: AuthNone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	s, err := c.ChatStream(ctx, simpleRequest(true))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	got, err := drain(t, s)
	if len(got) != 1 {
		t.Errorf("got %d chunks, want the 1 sent before the stall", len(got))
	}
	if code := errCode(t, err); code != octomesh.ETIMEOUT {
		t.Errorf("error code = %q (err %v), want %q", code, err, octomesh.ETIMEOUT)
	}
}

func TestCancelledContext(t *testing.T) {
	u := newUpstream(t, http.StatusOK, "text/event-stream", roleEvt+doneEvt)
	c := u.client(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ChatStream(ctx, simpleRequest(true)); !errors.Is(err, context.Canceled) {
		t.Errorf("ChatStream with cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := c.Chat(ctx, simpleRequest(false)); !errors.Is(err, context.Canceled) {
		t.Errorf("Chat with cancelled ctx: %v, want context.Canceled", err)
	}
}

// isJSON's shortcut for values that cannot be JSON answers as
// mime.ParseMediaType does.
func TestIsJSONMatchesParseMediaType(t *testing.T) {
	for _, v := range []string{"", "text/event-stream", "text/event-stream; charset=utf-8", "application/json",
		"Application/JSON; charset=utf-8", " application/json ", "application/jsonx", "application/json;;", "applİcation/json",
		"text/plain; x=application/json", "application/problem+json"} {
		mt, _, err := mime.ParseMediaType(v)
		want := err == nil && mt == "application/json"
		if got := isJSON(http.Header{"Content-Type": {v}}); got != want {
			t.Errorf("isJSON(%q) = %v, want %v", v, got, want)
		}
	}
}

// Cancelling the caller's context in the middle of a stream ends it at
// once with context.Canceled and lets the upstream go; so does Close, for
// a stream whose upstream stalls.
func TestCancelAndCloseMidStream(t *testing.T) {
	gone := make(chan struct{}, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, roleEvt)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		gone <- struct{}{}
	}))
	defer srv.Close()
	c, err := New(Config{ID: "t", BaseURL: srv.URL, Auth: AuthNone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, byCancel := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := c.ChatStream(ctx, simpleRequest(true))
		if err != nil {
			t.Fatal(err)
		}
		if !s.Next() {
			t.Fatalf("no first chunk: %v", s.Err())
		}
		if byCancel {
			done := make(chan bool, 1)
			go func() { done <- s.Next() }()
			time.Sleep(20 * time.Millisecond)
			cancel()
			select {
			case more := <-done:
				if more || !errors.Is(s.Err(), context.Canceled) {
					t.Errorf("after cancel: more %v, err %v; want context.Canceled", more, s.Err())
				}
			case <-time.After(time.Second):
				t.Fatal("cancel did not end the stream")
			}
		}
		s.Close()
		select {
		case <-gone:
		case <-time.After(time.Second):
			t.Fatalf("the upstream was not let go (by cancel: %v)", byCancel)
		}
		cancel()
	}
}

// A stream, its room for its first blocks and its choice array included,
// fits the allocator's 1408-byte size class (with the 8-byte header of a
// large object with pointers), not a fraction of the next: it is held for
// the stream's life. (It was in the 1536-byte class with a choice scratch
// apart from the first choice block; lent choices need one array.)
func TestStreamSize(t *testing.T) {
	if n := unsafe.Sizeof(stream{}); n+8 > 1408 { // the allocator's header of a large object with pointers
		t.Errorf("a stream is %d bytes, past the 1408-byte class", n)
	}
}

// holdsBlocks reports whether d holds its last chunk's choices, a block
// that is not in its stream's room, a choice array other than the room's,
// or a string through the room's choices (which would hold its block).
func holdsBlocks(d *chunkDecoder) bool {
	r := d.room
	return d.w.Choices != nil || d.toolBlk != nil || d.intBlk != nil ||
		(d.strs != nil && unsafe.SliceData(d.strs) != &r.strs[0]) ||
		cap(d.choiceBuf) > roomChoices || !reflect.ValueOf(r.choices).IsZero()
}
