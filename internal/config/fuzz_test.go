package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts is
// valid and converts to deployments.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(examplePath); err == nil {
		f.Add(string(b))
	}
	for _, seed := range []string{
		"",
		"server: {listen: ':8080', max_body_bytes: 1KiB}\n",
		"providers:\n  - {name: a, type: openai, api_key: \"${KEY}\"}\nmodels:\n  - {provider: a, upstream_model: m, context_window: 10, price: {input: '1', output: '2'}}\n",
		"a: ${KEY:-x}\n",
		"k: |\n  ${KEY}\n",
		"k: '${KEY}''\n",
		"k: \"${KEY}\\\n",
		"*a\n",
		"&a [*a]\n",
		"models: [{price: {input: 1e400}}]\n",
		"server:\n  max_body_bytes: 99999999999TiB\n",
	} {
		f.Add(seed)
	}
	getenv := env(map[string]string{"KEY": "sk-fuzz", "NL": "a\nb", "Q": `"'`})
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, err := Parse([]byte(doc), getenv)
		if err != nil {
			if strings.Contains(err.Error(), "sk-fuzz") {
				t.Errorf("error leaks an environment value: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("Parse accepted a config that Validate rejects: %v", err)
		}
		for _, m := range cfg.Models {
			if _, err := m.Deployment(); err != nil {
				t.Errorf("Parse accepted a model that does not convert: %v", err)
			}
		}
	})
}
