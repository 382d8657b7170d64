package openai

import (
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
	"github.com/octomesh/octomesh/internal/providertest"
)

// factory returns a providertest.Factory building a client from cfg with
// BaseURL set to the fake upstream (plus basePath) and the test key.
func factory(cfg Config, basePath string) providertest.Factory {
	return func(t *testing.T, baseURL string) octomesh.Provider {
		t.Helper()
		cfg := cfg
		cfg.BaseURL = baseURL + basePath
		cfg.APIKey = "test-key"
		c, err := New(cfg, provider.NewHTTPClient(provider.HTTPOptions{}, false))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return c
	}
}

// openAIFactory is the plain OpenAI configuration.
var openAIFactory = factory(Config{ID: "openai"}, "")

// quirksFactory is a self-hosted server (vLLM-like, behind OpenRouter-style
// headers) that needs every request-shaping quirk.
var quirksFactory = factory(Config{
	ID:      "selfhosted",
	Headers: map[string]string{"HTTP-Referer": "https://octomesh.example", "X-Title": "OctoMesh"},
	Quirks:  []string{QuirkMaxTokensOnly, QuirkDeveloperAsSystem, QuirkNoStreamOptions, QuirkNoParallelToolCalls},
}, "/v1")

// azureFactory is Azure OpenAI's deployment API.
var azureFactory = factory(Config{
	ID:         "azure",
	Auth:       AuthAPIKey,
	APIVersion: "2024-10-21",
	Quirks:     []string{QuirkAzureDeploymentPath},
}, "")

func TestGolden(t *testing.T) {
	providertest.RunGolden(t, "testdata/golden", openAIFactory)
}

func TestGoldenQuirks(t *testing.T) {
	providertest.RunGolden(t, "testdata/golden_quirks", quirksFactory)
}

func TestGoldenAzure(t *testing.T) {
	providertest.RunGolden(t, "testdata/golden_azure", azureFactory)
}

func TestStreamBehaviour(t *testing.T) {
	t.Run("openai", func(t *testing.T) {
		providertest.RunStreamBehaviour(t, "testdata/golden/stream_text_usage", openAIFactory)
	})
	t.Run("tool_calls", func(t *testing.T) {
		providertest.RunStreamBehaviour(t, "testdata/golden/stream_tool_calls", openAIFactory)
	})
	t.Run("azure", func(t *testing.T) {
		providertest.RunStreamBehaviour(t, "testdata/golden_azure/stream_azure", azureFactory)
	})
}
