package anthropicwire

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/octomesh/octomesh"
)

// FuzzDecodeRequest checks that DecodeRequest never panics, fails only with
// EINVALID errors, returns requests that satisfy its own contract, and that
// what it accepts survives EncodeRequest and decodes again.
func FuzzDecodeRequest(f *testing.F) {
	seeds := []string{
		``, `null`, `{}`, `[]`, `{"model":`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s"}],"stream":true,"metadata":{"user_id":"u"},"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}},{"type":"image","source":{"type":"url","url":"https://x/y"}}]}]}`,
		`{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"messages":[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t","name":"f","input":{"a":[1,{"b":null}]}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}],"is_error":true},{"type":"text","text":"next"}]}]}`,
		`{"model":"m","max_tokens":1e2,"temperature":1,"top_p":0,"stop_sequences":[],"messages":[{"role":"assistant","content":"x"}]}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t"}]}]}`,
		`{"model":"m","max_tokens":9223372036854775808,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"\u0000","max_tokens":5,"messages":[{"role":"user","content":"\ud800"}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			var oe *octomesh.Error
			if !errors.As(err, &oe) || oe.Code != octomesh.EINVALID {
				t.Fatalf("error %v is not an EINVALID *octomesh.Error", err)
			}
			return
		}
		if req.Model == "" || req.MaxTokens == nil || *req.MaxTokens < 1 || len(req.Messages) == 0 {
			t.Fatalf("accepted request breaks the contract: %+v", req)
		}
		out, err := EncodeRequest(req, EncodeOptions{})
		if err != nil {
			var oe *octomesh.Error
			if !errors.As(err, &oe) || oe.Code != octomesh.EINVALID {
				t.Fatalf("EncodeRequest error %v is not EINVALID", err)
			}
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("marshal encoded request: %v", err)
		}
		if _, err := DecodeRequest(b); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
	})
}
