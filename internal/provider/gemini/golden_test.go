package gemini

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/providertest"
)

// fixedNow is the receipt time stamped on every golden response.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newTestProvider is the providertest.Factory: a client for baseURL with
// the test credential and a fixed clock.
func newTestProvider(t *testing.T, baseURL string) octomesh.Provider {
	t.Helper()
	c, err := New(Config{
		ID:      "gemini",
		BaseURL: baseURL,
		APIKey:  "test-key",
		Now:     func() time.Time { return fixedNow },
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestGolden(t *testing.T) {
	providertest.RunGolden(t, filepath.Join("testdata", "golden"), newTestProvider)
}

func TestStreamBehaviour(t *testing.T) {
	providertest.RunStreamBehaviour(t, filepath.Join("testdata", "golden", "stream_text"), newTestProvider)
}
