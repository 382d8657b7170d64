package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/octomesh/octomesh"
)

// readBody reads the request body, stopping at the size limit (413) and
// failing on a body that is not sent in time (the server's read timeout).
// The returned bytes belong to the caller.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	// Content-Type is not checked: the body must be JSON whatever it says,
	// and curl's -d sends form encoding by default. (Cross-site form posts
	// cannot forge the API key header, so this opens no CSRF hole.)
	return s.readBodyInto(w, r, nil)
}

// readBodyPooled is readBody into a pooled buffer, for handlers that are
// done with the bytes once they are decoded (encoding/json copies what it
// decodes): they Release the body after decoding and never touch the bytes
// again.
func (s *Server) readBodyPooled(w http.ResponseWriter, r *http.Request) (*pooledBody, error) {
	pb := bodyPool.Get().(*pooledBody)
	b, err := s.readBodyInto(w, r, pb.b[:0])
	if err != nil {
		pb.Release()
		return nil, err
	}
	pb.b = b
	return pb, nil
}

// readBodyInto reads the body into buf (grown as needed).
func (s *Server) readBodyInto(w http.ResponseWriter, r *http.Request, buf []byte) ([]byte, error) {
	if r.ContentLength > s.maxBody {
		return nil, tooLarge(s.maxBody)
	}
	// readAll holds the body to the limit. A body of unknown length also
	// goes through http.MaxBytesReader, which tells net/http's server to
	// close the connection when it is exceeded; one with a length ends there
	// (both servers stop its reads at the length, which is within the limit
	// here), so it is spared that reader's allocation.
	src := r.Body
	if r.ContentLength < 0 {
		src = http.MaxBytesReader(w, r.Body, s.maxBody)
	}
	body, err := readAll(src, buf, r.ContentLength, s.maxBody)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.maxBody)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The server's read timeout: the client, not its request, is at
			// fault, and may retry (nginx answers 408 here too).
			return nil, octomesh.Errorf(octomesh.ESLOWREQUEST, "the request body did not arrive within the server's read timeout").WithCause(err)
		}
		return nil, octomesh.Errorf(octomesh.EINVALID, "could not read the request body").WithCause(err)
	}
	return body, nil
}

const (
	// maxPresize bounds how much a claimed Content-Length reserves before
	// the bytes arrive: beyond it the buffer grows as they do, so clients
	// that claim big bodies and send nothing cannot make us allocate.
	maxPresize = 64 << 10
	// maxPooledBody is the largest request buffer kept for reuse.
	maxPooledBody = 256 << 10
)

// pooledBody is a request body in a reusable buffer.
type pooledBody struct {
	b []byte
}

// Bytes returns the body, valid until Release.
func (pb *pooledBody) Bytes() []byte { return pb.b }

// Release returns the buffer for reuse, unless it grew past maxPooledBody:
// one huge body must not stay pinned in memory for good.
func (pb *pooledBody) Release() {
	if pb == nil || cap(pb.b) > maxPooledBody {
		return
	}
	pb.b = pb.b[:0]
	bodyPool.Put(pb)
}

// bodyPool holds idle request buffers. A sync.Pool is the one kind of
// package-level state kept here: it holds no meaning, only spare memory.
var bodyPool = sync.Pool{New: func() any { return &pooledBody{b: make([]byte, 0, 4<<10)} }}

// readAll appends r's bytes to buf, like io.ReadAll, and fails with an
// *http.MaxBytesError once there are more than limit of them (reading at
// most one byte past it, as http.MaxBytesReader does). A known length
// (size ≥ 0, up to maxPresize) sizes the buffer once, with a spare byte so
// that the read reporting the end needs no growth.
func readAll(r io.Reader, buf []byte, size, limit int64) ([]byte, error) {
	if size >= 0 && size <= maxPresize && int64(cap(buf)-len(buf)) < size+1 {
		buf = slices.Grow(buf, int(size)+1)
	}
	left := limit // bytes still allowed
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(512, len(buf))) // doubling, as io.ReadAll does
		}
		p := buf[len(buf):cap(buf)]
		// One byte past the limit tells whether it is exceeded. Compared
		// as http.MaxBytesReader does, so that left+1 cannot overflow (a
		// limit of math.MaxInt64).
		if int64(len(p))-1 > left {
			p = p[:left+1]
		}
		n, err := r.Read(p)
		buf = buf[:len(buf)+n]
		if left -= int64(n); left < 0 {
			return buf, &http.MaxBytesError{Limit: limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
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
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "exceeded max depth"):
		// encoding/json's nesting limit: well-formed, but too deep to decode.
		return octomesh.Errorf(octomesh.EINVALID, "the request body's JSON is nested too deeply (more than 10,000 levels, at byte %d)", syn.Offset)
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
