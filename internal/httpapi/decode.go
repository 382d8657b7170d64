package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/octomesh/octomesh"
)

// readBody reads the request body, stopping at the size limit (413) and
// failing on a body that is not sent in time (the server's read timeout).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	// Content-Type is not checked: the body must be JSON whatever it says,
	// and curl's -d sends form encoding by default. (Cross-site form posts
	// cannot forge the API key header, so this opens no CSRF hole.)
	if r.ContentLength > s.maxBody {
		return nil, tooLarge(s.maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.maxBody)
		}
		return nil, octomesh.Errorf(octomesh.EINVALID, "could not read the request body").WithCause(err)
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return octomesh.Errorf(octomesh.ETOOLARGE, "the request body exceeds the limit of %d bytes", limit)
}

// decodeStrict decodes one JSON object into v, rejecting unknown fields,
// trailing data and type mismatches with messages that name the field.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return octomesh.Errorf(octomesh.EINVALID, "the request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return octomesh.Errorf(octomesh.EINVALID, "the request body has data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return octomesh.Errorf(octomesh.EINVALID, "the request body has data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a client-safe EINVALID. It never
// echoes values from the body, only field names and types.
func jsonError(err error) error {
	var oe *octomesh.Error
	if errors.As(err, &oe) {
		return oe
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return octomesh.Errorf(octomesh.EINVALID, "the request body is not valid JSON (syntax error at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return octomesh.Errorf(octomesh.EINVALID, "the request body must be a JSON object")
		}
		return octomesh.Errorf(octomesh.EINVALID, "invalid type for %q: expected %s, got %s", field, jsonKind(typ.Type.Kind().String()), typ.Value).WithParam(field)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return octomesh.Errorf(octomesh.EINVALID, "the request body is not valid JSON (unexpected end of input)")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return octomesh.Errorf(octomesh.EINVALID, "Unrecognized request argument supplied: %s", clip(name, 64)).WithParam(clip(name, 64))
	}
	return octomesh.Errorf(octomesh.EINVALID, "the request body could not be decoded").WithCause(fmt.Errorf("decode: %w", err))
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "int32", "float64", "float32", "uint64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a value"
	}
	return k
}
