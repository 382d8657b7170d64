package gemini

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// runStream decodes body as a Gemini event stream and returns the chunks
// (as JSON) and the stream's error.
func runStream(t testing.TB, body string) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := newStream(ctx, cancel, "gemini", "gemini-2.5-flash", fixedNow, &http.Response{Body: io.NopCloser(strings.NewReader(body))})
	defer s.Close()
	var out []string
	for s.Next() {
		b, err := json.Marshal(s.Chunk())
		if err != nil {
			t.Fatalf("marshal chunk: %v", err)
		}
		out = append(out, string(b))
	}
	return out, s.Err()
}

func events(evs ...string) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString("data: " + e + "\r\n\r\n")
	}
	return b.String()
}

func TestStreamEndings(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantChunks int
		wantCode   octomesh.ErrorCode // "" for a clean end
	}{
		{
			name:     "empty body",
			body:     "",
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "half an event",
			body:     `data: {"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}]}`,
			wantCode: octomesh.EUPSTREAM,
		},
		{
			name:       "malformed event",
			body:       events(`{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}`, `{"candidates":[`),
			wantChunks: 2, wantCode: octomesh.EUPSTREAM,
		},
		{
			name:     "prompt blocked",
			body:     events(`{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":3}}`),
			wantCode: octomesh.ECONTENTFILTER,
		},
		{
			name:       "in-band error",
			body:       events(`{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}`, `{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`),
			wantChunks: 2, wantCode: octomesh.EOVERLOADED,
		},
		{
			name:       "malformed function call",
			body:       events(`{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}`, `{"candidates":[{"finishReason":"MALFORMED_FUNCTION_CALL"}]}`),
			wantChunks: 2, wantCode: octomesh.EUPSTREAM,
		},
		{
			name: "one of two candidates unfinished",
			body: events(`{"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"},{"content":{"parts":[{"text":"b"}]},"index":1}]}`),
			// role, text, finish for 0; role, text for 1
			wantChunks: 5, wantCode: octomesh.EUPSTREAM,
		},
		{
			name: "two candidates finished",
			body: events(`{"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"},{"content":{"parts":[{"text":"b"}]},"index":1}]}`,
				`{"candidates":[{"finishReason":"MAX_TOKENS","index":1}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4}}`),
			wantChunks: 7,
		},
		{
			name:       "finish without usage",
			body:       events(`{"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}]}`),
			wantChunks: 3,
		},
		{
			name:       "keep-alive comments and a trailing usage event",
			body:       ": ping\r\n\r\n" + events(`{"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}]}`, `{"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1}}`),
			wantChunks: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := runStream(t, tt.body)
			if got := octomesh.ErrorCodeOf(err); got != tt.wantCode {
				t.Errorf("error code = %q (err %v), want %q", got, err, tt.wantCode)
			}
			if len(chunks) != tt.wantChunks {
				t.Errorf("got %d chunks, want %d:\n%s", len(chunks), tt.wantChunks, strings.Join(chunks, "\n"))
			}
		})
	}
}

// TestStreamThoughtsAreNotContent checks that thought summaries never reach
// the answer text.
func TestStreamThoughtsAreNotContent(t *testing.T) {
	chunks, err := runStream(t, events(
		`{"candidates":[{"content":{"parts":[{"text":"**Planning**","thought":true}]}}]}`,
		`{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":"STOP"}]}`))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	all := strings.Join(chunks, "\n")
	if strings.Contains(all, "Planning") {
		t.Errorf("thought text leaked into chunks:\n%s", all)
	}
	if !strings.Contains(all, `"content":"Hi"`) {
		t.Errorf("answer text missing:\n%s", all)
	}
}

// FuzzStream feeds arbitrary bytes to the stream decoder: it must never
// panic, and a stream that ends without error must have finished every
// choice it started.
func FuzzStream(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "stream_*", "upstream_response"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(events(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":null}}]},"finishReason":"STOP","index":-1}]}`)))
	f.Add([]byte("data: {\"error\":{}}\n\n"))
	f.Add([]byte("data: null\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		chunks, err := runStream(t, string(body))
		if err != nil {
			return
		}
		started, finished := map[int]bool{}, map[int]bool{}
		for _, s := range chunks {
			var c octomesh.Chunk
			if err := json.Unmarshal([]byte(s), &c); err != nil {
				t.Fatalf("chunk is not JSON: %v", err)
			}
			for _, ch := range c.Choices {
				started[ch.Index] = true
				if ch.FinishReason != "" {
					finished[ch.Index] = true
				}
			}
		}
		if len(started) == 0 {
			t.Fatalf("clean end without any choice; chunks:\n%s", strings.Join(chunks, "\n"))
		}
		for i := range started {
			if !finished[i] {
				t.Fatalf("clean end but choice %d never finished; chunks:\n%s", i, strings.Join(chunks, "\n"))
			}
		}
	})
}
