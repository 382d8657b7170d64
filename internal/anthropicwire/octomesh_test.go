package anthropicwire

import (
	"testing"

	"github.com/octomesh/octomesh"
)

func TestDecodeRequestOctomeshOptions(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"octomesh":{"objective":"fastest","zero_retention":true,"regions":["eu"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if o := req.Octomesh; o == nil || o.Objective != octomesh.ObjectiveFastest || !o.ZeroRetention || len(o.Regions) != 1 {
		t.Errorf("octomesh = %+v", req.Octomesh)
	}
	_, err = DecodeRequest([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"octomesh":{"objectiv":"fastest"}}`))
	if e := octomesh.AsError(err); err == nil || e.Param != "octomesh" {
		t.Errorf("unknown option: err = %v", err)
	}
}
