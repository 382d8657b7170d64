package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/telemetry"
)

// A request OctoMesh refuses before any upstream attempt (here an unknown
// model, and an invalid request) is in the requests metric with its status
// and code, and in the log, like any other request; the client's model
// string is not a metric label.
func TestRejectedRequestsAreRecorded(t *testing.T) {
	cat, err := NewCatalog(testDeployments(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m := telemetry.NewMetrics()
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": &scripted{id: "p", resp: okResp()}},
		Metrics: m, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := octomesh.WithRequestID(context.Background(), "req-rejected")
	if _, _, err := svc.Chat(ctx, userReq("p/no-such-model-xyz")); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		t.Fatalf("unknown model: %v", err)
	}
	stream := userReq("p/big")
	stream.Stream = true
	stream.Messages = nil // invalid: no messages
	if _, _, err := svc.ChatStream(ctx, stream); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Fatalf("invalid stream request: %v", err)
	}
	var out bytes.Buffer
	m.WriteTo(&out)
	text := out.String()
	for _, want := range []string{
		`octomesh_requests_total{route="chat",model="",provider="",code="404",error_code="not_found",stream="false"} 1`,
		`octomesh_requests_total{route="chat",model="",provider="",code="400",error_code="invalid_request",stream="true"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s; requests series:\n%s", want, grepLines(text, "octomesh_requests_total"))
		}
	}
	if strings.Contains(text, "no-such-model-xyz") {
		t.Error("the client's model string became a metric label")
	}
	if strings.Contains(logs.String(), "no-such-model-xyz") {
		t.Error("the log echoes the client's model string (a rejection logs its code, not its message)")
	}
	if n := strings.Count(logs.String(), "request_id=req-rejected"); n != 2 {
		t.Errorf("%d log lines for the two rejections, want 2:\n%s", n, logs.String())
	}
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
