package httpapi

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// refusingService records Refused calls as gateway.Service does: once per
// request, marking the scope recorded.
type refusingService struct {
	*fakeService
	mu      sync.Mutex
	refused []string // route and code of each call
}

func (f *refusingService) Refused(ctx context.Context, route string, _ time.Time, err error) {
	if sc := octomesh.ScopeFrom(ctx); sc != nil {
		sc.Recorded.Store(true)
	}
	f.mu.Lock()
	f.refused = append(f.refused, route+" "+string(octomesh.ErrorCodeOf(err)))
	f.mu.Unlock()
}

// A handler's panic is answered 500 by the recovery in ServeHTTP, and that
// answer is counted and logged once like any other the API layer gives
// without the gateway: the recovery must write it with the request that
// carries the scope (and the matched route), not the one ServeHTTP got.
func TestAPanicsAnswerIsRecordedOnce(t *testing.T) {
	svc := &refusingService{fakeService: &fakeService{chat: func(*octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
		panic("boom")
	}}}
	s := New(Options{Service: svc, Auth: fakeAuth{}, MaxBodyBytes: 4096})
	w := do(t, s, "POST", "/v1/chat/completions", `{"model":"fake/m","messages":[{"role":"user","content":"hi"}]}`)
	if w.Code != 500 {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if len(svc.refused) != 1 || svc.refused[0] != "chat "+string(octomesh.EINTERNAL) {
		t.Fatalf("Refused calls %q, want one for route chat, code internal", svc.refused)
	}
}
