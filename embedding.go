package octomesh

import "encoding/json"

// EmbeddingRequest is the canonical embeddings request; its JSON form is
// OpenAI's /v1/embeddings body.
type EmbeddingRequest struct {
	Model          string         `json:"model"`
	Input          EmbeddingInput `json:"input"`
	EncodingFormat string         `json:"encoding_format,omitempty"` // "float" (default) or "base64"
	Dimensions     *int           `json:"dimensions,omitempty"`
	User           string         `json:"user,omitempty"`
}

// EmbeddingInput is the input to embed: one string or a list of strings.
// (OpenAI also accepts token arrays; OctoMesh rejects them with EINVALID since
// token ids are model-specific and cannot be routed.)
type EmbeddingInput []string

// MarshalJSON encodes the input as an array of strings.
func (in EmbeddingInput) MarshalJSON() ([]byte, error) {
	return json.Marshal([]string(in))
}

// UnmarshalJSON accepts a string or an array of strings.
func (in *EmbeddingInput) UnmarshalJSON(b []byte) error {
	if firstByte(b) == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*in = EmbeddingInput{s}
		return nil
	}
	var v []string
	if err := json.Unmarshal(b, &v); err != nil {
		return Errorf(EINVALID, "input must be a string or an array of strings").WithParam("input")
	}
	*in = v
	return nil
}

// EmbeddingResponse is the canonical embeddings response (OpenAI's shape).
type EmbeddingResponse struct {
	Object string      `json:"object"`
	Data   []Embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  Usage       `json:"usage"`
}

// Embedding is one input's vector.
type Embedding struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}
