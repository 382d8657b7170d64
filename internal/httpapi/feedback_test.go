package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// feedbackService is a fakeService that also takes feedback.
type feedbackService struct {
	*fakeService
	got []octomesh.Feedback
	err error
}

func (f *feedbackService) Feedback(_ context.Context, fb *octomesh.Feedback) (*octomesh.FeedbackReceipt, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.got = append(f.got, *fb)
	return &octomesh.FeedbackReceipt{Object: "feedback", RequestID: fb.RequestID, Deployment: "fake/m", PromptCluster: 7,
		Score: fb.Score, Label: fb.Label}, nil
}

type feedbackErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

func TestFeedbackRoute(t *testing.T) {
	for _, tt := range []struct {
		name   string
		body   string
		status int
		want   octomesh.Feedback // for 200
		param  string            // for 400
	}{
		{"score", `{"request_id":"req-1","score":0.8}`, 200, octomesh.Feedback{RequestID: "req-1", Score: 0.8}, ""},
		{"score 0", `{"request_id":"req-1","score":0}`, 200, octomesh.Feedback{RequestID: "req-1", Score: 0}, ""},
		{"score 1 with a label", `{"request_id":"r","score":1,"label":"great:code/v2"}`, 200, octomesh.Feedback{RequestID: "r", Score: 1, Label: "great:code/v2"}, ""},
		{"thumbs up", `{"request_id":"req-2","thumbs":"up"}`, 200, octomesh.Feedback{RequestID: "req-2", Score: 1}, ""},
		{"thumbs down, label", `{"request_id":"req-2","thumbs":"down","label":"wrong_answer"}`, 200, octomesh.Feedback{RequestID: "req-2", Score: 0, Label: "wrong_answer"}, ""},
		{"null score, thumbs", `{"request_id":"req-2","score":null,"thumbs":"up"}`, 200, octomesh.Feedback{RequestID: "req-2", Score: 1}, ""},
		{"both", `{"request_id":"r","score":1,"thumbs":"up"}`, 400, octomesh.Feedback{}, "score"},
		{"neither", `{"request_id":"r"}`, 400, octomesh.Feedback{}, "score"},
		{"score above 1", `{"request_id":"r","score":1.5}`, 400, octomesh.Feedback{}, "score"},
		{"negative score", `{"request_id":"r","score":-0.1}`, 400, octomesh.Feedback{}, "score"},
		{"huge score", `{"request_id":"r","score":1e400}`, 400, octomesh.Feedback{}, ""},
		{"score as a string", `{"request_id":"r","score":"0.8"}`, 400, octomesh.Feedback{}, "score"},
		{"thumbs sideways", `{"request_id":"r","thumbs":"sideways"}`, 400, octomesh.Feedback{}, "thumbs"},
		{"thumbs as a bool", `{"request_id":"r","thumbs":true}`, 400, octomesh.Feedback{}, "thumbs"},
		{"label with a space", `{"request_id":"r","score":1,"label":"wrong answer"}`, 400, octomesh.Feedback{}, "label"},
		{"label too long", `{"request_id":"r","score":1,"label":"` + strings.Repeat("x", 65) + `"}`, 400, octomesh.Feedback{}, "label"},
		{"empty label", `{"request_id":"r","score":1,"label":""}`, 200, octomesh.Feedback{RequestID: "r", Score: 1}, ""},
		{"no request id", `{"score":1}`, 400, octomesh.Feedback{}, "request_id"},
		{"empty request id", `{"request_id":"","score":1}`, 400, octomesh.Feedback{}, "request_id"},
		{"request id too long", `{"request_id":"` + strings.Repeat("r", 129) + `","score":1}`, 400, octomesh.Feedback{}, "request_id"},
		{"request id a number", `{"request_id":12,"score":1}`, 400, octomesh.Feedback{}, "request_id"},
		{"unknown field", `{"request_id":"r","score":1,"prompt":"secret"}`, 400, octomesh.Feedback{}, "prompt"},
		{"not JSON", `request_id=r&score=1`, 400, octomesh.Feedback{}, ""},
		{"empty body", ``, 400, octomesh.Feedback{}, ""},
		{"an array", `[{"request_id":"r","score":1}]`, 400, octomesh.Feedback{}, ""},
		{"trailing data", `{"request_id":"r","score":1} {}`, 400, octomesh.Feedback{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc := &feedbackService{fakeService: &fakeService{}}
			w := do(t, newFeedbackServer(svc), "POST", "/v1/feedback", tt.body)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status == 200 {
				if len(svc.got) != 1 || svc.got[0] != tt.want {
					t.Errorf("service got %+v, want [%+v]", svc.got, tt.want)
				}
				var rec octomesh.FeedbackReceipt
				if err := json.Unmarshal(w.Body.Bytes(), &rec); err != nil || rec.Object != "feedback" || rec.RequestID != tt.want.RequestID || rec.Score != tt.want.Score {
					t.Errorf("receipt %s (%v)", w.Body, err)
				}
				return
			}
			if len(svc.got) != 0 {
				t.Errorf("invalid feedback reached the service: %+v", svc.got)
			}
			var e feedbackErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
				t.Fatalf("error body %s (%v), want an OpenAI invalid_request_error", w.Body, err)
			}
			if tt.param != "" && (e.Error.Param == nil || *e.Error.Param != tt.param) {
				t.Errorf("param %v, want %q: %s", e.Error.Param, tt.param, w.Body)
			}
			if strings.Contains(w.Body.String(), "secret") {
				t.Errorf("the error echoes a value from the body: %s", w.Body)
			}
		})
	}
}

func TestFeedbackRouteErrors(t *testing.T) {
	t.Run("unknown or foreign request", func(t *testing.T) {
		svc := &feedbackService{fakeService: &fakeService{}, err: octomesh.Errorf(octomesh.ENOTFOUND, "no routing decision for request %q", "req-x")}
		w := do(t, newFeedbackServer(svc), "POST", "/v1/feedback", `{"request_id":"req-x","thumbs":"up"}`)
		if w.Code != 404 || !strings.Contains(w.Body.String(), `"code":"not_found"`) {
			t.Errorf("status %d body %s, want 404 not_found", w.Code, w.Body)
		}
	})
	t.Run("a service without online learning", func(t *testing.T) {
		w := do(t, newTestServer(t, &fakeService{}), "POST", "/v1/feedback", `{"request_id":"r","thumbs":"up"}`)
		if w.Code != 404 || !strings.Contains(w.Body.String(), "online learning is not enabled") {
			t.Errorf("status %d body %s, want 404 naming the reason", w.Code, w.Body)
		}
	})
	t.Run("no key", func(t *testing.T) {
		svc := &feedbackService{fakeService: &fakeService{}}
		w := do(t, newFeedbackServer(svc), "POST", "/v1/feedback", `{"request_id":"r","thumbs":"up"}`, "Authorization", "")
		if w.Code != 401 || len(svc.got) != 0 {
			t.Errorf("status %d, %d feedbacks applied; want 401 and none", w.Code, len(svc.got))
		}
	})
	t.Run("body over the limit", func(t *testing.T) {
		svc := &feedbackService{fakeService: &fakeService{}}
		w := do(t, newFeedbackServer(svc), "POST", "/v1/feedback", `{"request_id":"r","thumbs":"up","label":"`+strings.Repeat("x", 5000)+`"}`)
		if w.Code != 413 {
			t.Errorf("status %d, want 413", w.Code)
		}
	})
}

func newFeedbackServer(svc octomesh.ChatService) *Server {
	return New(Options{Service: svc, Auth: fakeAuth{}, MaxBodyBytes: 4096})
}

// FuzzFeedbackDecode: any body either decodes to valid feedback (a score in
// [0,1], a valid label, a request id of 1-128 bytes) or fails with a
// client-safe EINVALID; never a panic.
func FuzzFeedbackDecode(f *testing.F) {
	for _, s := range []string{
		`{"request_id":"req-1","score":0.8}`,
		`{"request_id":"req-1","thumbs":"down","label":"wrong_answer"}`,
		`{"request_id":"r","score":1,"thumbs":"up"}`,
		`{"request_id":"r","score":-0}`,
		`{"request_id":"r","score":1e-320}`,
		`{"request_id":"r","score":0.99999999999999999999}`,
		`{"request_id":"\u0000","thumbs":"up","label":"a/b:c.d-e_f"}`,
		`{"request_id":null,"score":null,"thumbs":null,"label":null}`,
		`{}`, `null`, `[]`, `"x"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fb, err := decodeFeedback(body)
		if err != nil {
			var e *octomesh.Error
			if !errors.As(err, &e) || e.Code != octomesh.EINVALID || e.Message == "" {
				t.Fatalf("error %v for %q, want a client-safe EINVALID", err, body)
			}
			return
		}
		if fb.RequestID == "" || len(fb.RequestID) > 128 || !(fb.Score >= 0 && fb.Score <= 1) ||
			(fb.Label != "" && !octomesh.ValidFeedbackLabel(fb.Label)) || fb.Validate() != nil {
			t.Fatalf("accepted invalid feedback %+v from %q", fb, body)
		}
	})
}
