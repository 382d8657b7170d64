package httpapi

import (
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// JSON nested deeper than the decoder allows is refused with a message
// that says so, not as a syntax error at some byte (it is well formed).
func TestDeepNestingIsNamed(t *testing.T) {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"x":` + deep + `}}`
	var req octomesh.ChatRequest
	err := decodeChat([]byte(body), &req)
	if err == nil {
		t.Fatal("decoded JSON nested 20,000 levels deep")
	}
	if msg := octomesh.ErrorMessage(err); !strings.Contains(msg, "nested") || strings.Contains(msg, "syntax") {
		t.Errorf("message %q; want one saying the JSON is nested too deeply", msg)
	}
	if octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Errorf("code %s, want %s", octomesh.ErrorCodeOf(err), octomesh.EINVALID)
	}
}
