package octomesh_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func TestContentJSON(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantText string
		wantNull bool
		out      string // re-encoded form
	}{
		{"string", `"hello"`, "hello", false, `"hello"`},
		{"empty string", `""`, "", false, `""`},
		{"null", `null`, "", true, `null`},
		{"parts", `[{"type":"text","text":"a"},{"type":"text","text":"b"}]`, "ab", false, `[{"type":"text","text":"a"},{"type":"text","text":"b"}]`},
		{"single part stays array", `[{"type":"text","text":"a"}]`, "a", false, `[{"type":"text","text":"a"}]`},
		{"image", `[{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]`, "", false, `[{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]`},
		{"empty array", `[]`, "", false, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c octomesh.Content
			if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if got := c.Text(); got != tt.wantText {
				t.Errorf("Text() = %q, want %q", got, tt.wantText)
			}
			if got := c.IsNull(); got != tt.wantNull {
				t.Errorf("IsNull() = %v, want %v", got, tt.wantNull)
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.out {
				t.Errorf("marshal = %s, want %s", b, tt.out)
			}
		})
	}
	for _, bad := range []string{`42`, `{"a":1}`, `true`} {
		var c octomesh.Content
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("unmarshal %s: want error", bad)
		}
	}
}

func TestToolChoiceJSON(t *testing.T) {
	for _, in := range []string{`"auto"`, `"none"`, `"required"`, `{"type":"function","function":{"name":"f"}}`} {
		var tc octomesh.ToolChoice
		if err := json.Unmarshal([]byte(in), &tc); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		b, _ := json.Marshal(tc)
		var a, bb any
		json.Unmarshal([]byte(in), &a)
		json.Unmarshal(b, &bb)
		if diff := cmp.Diff(a, bb); diff != "" {
			t.Errorf("round trip of %s (-want +got):\n%s", in, diff)
		}
	}
	for _, bad := range []string{`"sometimes"`, `{"type":"function"}`, `{"type":"x","function":{"name":"f"}}`, `3`} {
		var tc octomesh.ToolChoice
		if err := json.Unmarshal([]byte(bad), &tc); err == nil {
			t.Errorf("%s: want error", bad)
		}
	}
}

func TestStopJSON(t *testing.T) {
	var r struct {
		Stop octomesh.Stop `json:"stop"`
	}
	if err := json.Unmarshal([]byte(`{"stop":"END"}`), &r); err != nil || !cmp.Equal([]string(r.Stop), []string{"END"}) {
		t.Errorf("string stop = %v, %v", r.Stop, err)
	}
	if err := json.Unmarshal([]byte(`{"stop":["a","b"]}`), &r); err != nil || !cmp.Equal([]string(r.Stop), []string{"a", "b"}) {
		t.Errorf("array stop = %v, %v", r.Stop, err)
	}
	if err := json.Unmarshal([]byte(`{"stop":5}`), &r); err == nil {
		t.Error("numeric stop: want error")
	}
}

func TestEmbeddingInputJSON(t *testing.T) {
	var in octomesh.EmbeddingInput
	if err := json.Unmarshal([]byte(`"one"`), &in); err != nil || len(in) != 1 || in[0] != "one" {
		t.Errorf("string input = %v, %v", in, err)
	}
	if err := json.Unmarshal([]byte(`["a","b"]`), &in); err != nil || len(in) != 2 {
		t.Errorf("array input = %v, %v", in, err)
	}
	if err := json.Unmarshal([]byte(`[[1,2,3]]`), &in); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Errorf("token arrays: err = %v, want EINVALID", err)
	}
}

func TestPassthroughSet(t *testing.T) {
	var r octomesh.ChatRequest
	if err := json.Unmarshal([]byte(`{"model":"m","messages":[],"logprobs":true,"reasoning_effort":"low","store":null}`), &r); err != nil {
		t.Fatal(err)
	}
	got := r.Passthrough.Set()
	want := []string{"logprobs", "reasoning_effort"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Set() (-want +got):\n%s", diff)
	}
	b, _ := json.Marshal(&r)
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["logprobs"] != true || m["reasoning_effort"] != "low" {
		t.Errorf("passthrough fields not re-encoded: %s", b)
	}
}
