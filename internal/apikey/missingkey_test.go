package apikey

import (
	"context"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// The answer to a request without a key names every way to send one, and
// says why an Authorization header of another scheme did not count.
func TestMissingKeyMessageNamesEveryHeader(t *testing.T) {
	c := &Cache{}
	_, err := c.Authenticate(context.Background(), "")
	msg := err.Error()
	for _, want := range []string{"Authorization: Bearer", "x-api-key", "x-goog-api-key", "Basic"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %q", msg, want)
		}
	}
	if octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
		t.Errorf("code %v, want unauthorized", octomesh.ErrorCodeOf(err))
	}
}
