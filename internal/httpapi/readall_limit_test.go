package httpapi

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
)

// A body limit as large as an int64 holds (max_body_bytes:
// 9223372036854775807, "no limit" in effect) reads the body as
// http.MaxBytesReader did, rather than overflowing the count of bytes
// still allowed.
func TestReadAllLimitAtMaxInt64(t *testing.T) {
	got, err := readAll(strings.NewReader("hello"), nil, -1, math.MaxInt64)
	if err != nil || string(got) != "hello" {
		t.Fatalf("readAll = %q, %v; want \"hello\", nil", got, err)
	}
	// And the edges of an ordinary limit stay where they were.
	for _, tt := range []struct {
		body     string
		limit    int64
		tooLarge bool
	}{{"abcd", 4, false}, {"abcde", 4, true}, {"", 0, false}, {"a", 0, true}} {
		got, err := readAll(strings.NewReader(tt.body), nil, -1, tt.limit)
		var mbe *http.MaxBytesError
		if tooLarge := errors.As(err, &mbe); tooLarge != tt.tooLarge {
			t.Errorf("%q within %d: err = %v, want too large %v", tt.body, tt.limit, err, tt.tooLarge)
		} else if !tooLarge && (err != nil || string(got) != tt.body) {
			t.Errorf("%q within %d: readAll = %q, %v", tt.body, tt.limit, got, err)
		}
	}
}
