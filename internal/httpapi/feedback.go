package httpapi

import (
	"net/http"

	"github.com/octomesh/octomesh"
)

// feedbackBody is the body of POST /v1/feedback: a request id and either a
// score in [0,1] or thumbs "up" / "down", and an optional label.
type feedbackBody struct {
	RequestID *string  `json:"request_id"`
	Score     *float64 `json:"score"`
	Thumbs    *string  `json:"thumbs"`
	Label     *string  `json:"label"`
}

// decodeFeedback decodes and validates a feedback body. Errors are
// EINVALID naming the field; values from the body are never echoed.
func decodeFeedback(body []byte) (*octomesh.Feedback, error) {
	var b feedbackBody
	if err := decodeStrict(body, &b); err != nil {
		return nil, err
	}
	fb := &octomesh.Feedback{}
	if b.RequestID == nil || *b.RequestID == "" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "request_id is required: the id of the request you rate (its x-request-id)").WithParam("request_id")
	}
	fb.RequestID = *b.RequestID
	switch {
	case b.Score != nil && b.Thumbs != nil:
		return nil, octomesh.Errorf(octomesh.EINVALID, "give either score or thumbs, not both").WithParam("score")
	case b.Score != nil:
		fb.Score = *b.Score
	case b.Thumbs != nil:
		switch *b.Thumbs {
		case "up":
			fb.Score = 1
		case "down":
			fb.Score = 0
		default:
			return nil, octomesh.Errorf(octomesh.EINVALID, `thumbs must be "up" or "down"`).WithParam("thumbs")
		}
	default:
		return nil, octomesh.Errorf(octomesh.EINVALID, `a score between 0 and 1, or thumbs "up" or "down", is required`).WithParam("score")
	}
	if b.Label != nil {
		fb.Label = *b.Label
	}
	if err := fb.Validate(); err != nil {
		return nil, err
	}
	return fb, nil
}

// handleFeedback applies a caller's rating of one of its org's answered
// requests to the router's online statistics (docs/feedback.md). Another
// org's request answers 404 exactly as an unknown one; feedback on a request
// already rated replaces the earlier rating.
func (s *Server) handleFeedback(w http.ResponseWriter, r *http.Request) {
	fs, ok := s.svc.(octomesh.FeedbackService)
	if !ok {
		s.writeError(w, r, formatOpenAI, octomesh.Errorf(octomesh.ENOTFOUND, "online learning is not enabled on this server"))
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	fb, err := decodeFeedback(body)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	rec, err := fs.Feedback(r.Context(), fb)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}
