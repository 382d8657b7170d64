package octomesh_test

import (
	"math"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

func TestFeedbackValidate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fb    octomesh.Feedback
		param string // "" when valid
	}{
		{"valid", octomesh.Feedback{RequestID: "req_1", Score: 0.5}, ""},
		{"bounds", octomesh.Feedback{RequestID: "r", Score: 1, Label: "a-b_c.d:e/F9"}, ""},
		{"zero", octomesh.Feedback{RequestID: "r", Score: 0}, ""},
		{"longest id and label", octomesh.Feedback{RequestID: strings.Repeat("r", 128), Score: 0, Label: strings.Repeat("x", 64)}, ""},
		{"no id", octomesh.Feedback{Score: 1}, "request_id"},
		{"long id", octomesh.Feedback{RequestID: strings.Repeat("r", 129), Score: 1}, "request_id"},
		{"NaN", octomesh.Feedback{RequestID: "r", Score: math.NaN()}, "score"},
		{"above 1", octomesh.Feedback{RequestID: "r", Score: math.Nextafter(1, 2)}, "score"},
		{"below 0", octomesh.Feedback{RequestID: "r", Score: -1e-300}, "score"},
		{"infinite", octomesh.Feedback{RequestID: "r", Score: math.Inf(1)}, "score"},
		{"label with a space", octomesh.Feedback{RequestID: "r", Score: 1, Label: "too long"}, "label"},
		{"label too long", octomesh.Feedback{RequestID: "r", Score: 1, Label: strings.Repeat("x", 65)}, "label"},
		{"non-ASCII label", octomesh.Feedback{RequestID: "r", Score: 1, Label: "très"}, "label"},
		{"label with a newline", octomesh.Feedback{RequestID: "r", Score: 1, Label: "a\nb"}, "label"},
	} {
		err := tt.fb.Validate()
		if tt.param == "" {
			if err != nil {
				t.Errorf("%s: %v, want valid", tt.name, err)
			}
			continue
		}
		e, ok := err.(*octomesh.Error)
		if !ok || e.Code != octomesh.EINVALID || e.Param != tt.param {
			t.Errorf("%s: %v, want EINVALID on %s", tt.name, err, tt.param)
		}
	}
}
