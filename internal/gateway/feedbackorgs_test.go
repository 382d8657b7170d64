package gateway

import (
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router/online"
)

// Two organisations may use the same request id (clients choose their own
// X-Request-Id). Feedback on one org's request must not replace (retract)
// the other org's feedback on its request of the same id.
func TestFeedbackOfTwoOrgsWithOneRequestID(t *testing.T) {
	b := newLearningBed(t, online.Config{})
	decA := askAuto(t, b, "a", "same", "Name three primary colours.")
	decB := askAuto(t, b, "b", "same", "Name three primary colours.")
	if decA.PromptCluster != decB.PromptCluster {
		t.Fatalf("the same prompt landed in clusters %d and %d", decA.PromptCluster, decB.PromptCluster)
	}
	if _, err := b.svc.Feedback(orgCtx("a", ""), &octomesh.Feedback{RequestID: "same", Score: 1}); err != nil {
		t.Fatal(err)
	}
	rec, err := b.svc.Feedback(orgCtx("b", ""), &octomesh.Feedback{RequestID: "same", Score: 0})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Replaced {
		t.Errorf("org b's first feedback reports replacing one: it replaced org a's")
	}
	w, mean, _ := b.l.Stats(decA.PromptCluster, "p/cheap")
	if w != 2 || mean != 0.5 {
		t.Errorf("after both orgs' feedback: weight %v mean %v, want 2 and 0.5 (both kept)", w, mean)
	}
}
