package octomesh

import (
	"context"
	"math"
)

// MaxFeedbackLabel is the longest feedback label, in bytes.
const MaxFeedbackLabel = 64

// Feedback is a caller's rating of one answered request, for the router's
// online learning. It names the request, not its content: the gateway
// attributes it to the deployment that answered and to the prompt's
// cluster, and keeps nothing else.
type Feedback struct {
	RequestID string  `json:"request_id"`
	Score     float64 `json:"score"`           // in [0,1]: 1 the best answer, 0 useless; thumbs up is 1, down 0
	Label     string  `json:"label,omitempty"` // an optional tag, counted per deployment (see ValidFeedbackLabel)
}

// Validate returns EINVALID, naming the field, for a missing or over-long
// request id, a score outside [0,1] (or NaN) and an invalid label.
func (f *Feedback) Validate() error {
	switch {
	case f.RequestID == "":
		return Errorf(EINVALID, "request_id is required").WithParam("request_id")
	case len(f.RequestID) > 128:
		return Errorf(EINVALID, "request_id is longer than 128 bytes").WithParam("request_id")
	case math.IsNaN(f.Score) || f.Score < 0 || f.Score > 1:
		return Errorf(EINVALID, "score must be a number between 0 and 1").WithParam("score")
	case f.Label != "" && !ValidFeedbackLabel(f.Label):
		return Errorf(EINVALID, "label must be 1 to %d letters, digits or the characters _ - . : /", MaxFeedbackLabel).WithParam("label")
	}
	return nil
}

// ValidFeedbackLabel reports whether s is a valid feedback label: 1 to
// MaxFeedbackLabel ASCII letters, digits, '_', '-', '.', ':' or '/'. Labels
// are tags such as "wrong_answer" or "too_long", counted as such; the
// narrow alphabet (no spaces) keeps sentences, and so prompt text, out of
// the statistics.
func ValidFeedbackLabel(s string) bool {
	if s == "" || len(s) > MaxFeedbackLabel {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':' || c == '/') {
			return false
		}
	}
	return true
}

// FeedbackReceipt is what applying feedback did.
type FeedbackReceipt struct {
	Object        string  `json:"object"` // "feedback"
	RequestID     string  `json:"request_id"`
	Deployment    string  `json:"deployment"`     // the deployment that answered, now credited with the score
	PromptCluster int     `json:"prompt_cluster"` // the request's prompt cluster
	Score         float64 `json:"score"`
	Label         string  `json:"label,omitempty"`
	Replaced      bool    `json:"replaced"` // earlier feedback on the same request was replaced (last write wins)
}

// FeedbackService applies feedback to the router's online statistics. A
// ChatService may implement it; the transport finds it by type assertion.
// Implementations are safe for concurrent use.
type FeedbackService interface {
	// Feedback credits the deployment that answered one of the caller's
	// org's requests with fb.Score in fb's request's prompt cluster. Giving
	// feedback on the same request again replaces the earlier feedback.
	// It returns EINVALID for invalid feedback, for a request that got no
	// answer and for one routed without a prompt cluster; ENOTFOUND for an
	// unknown request and for another org's (its existence is not
	// revealed), and when online learning is off.
	Feedback(ctx context.Context, fb *Feedback) (*FeedbackReceipt, error)
}
