package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

const examplePath = "../../octomesh.example.yaml"

func readExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// uncommentExamples enables the commented-out examples between the
// ">>> examples" and "<<< examples" markers by removing one leading "# "
// from each line, as the file tells its readers to.
func uncommentExamples(t *testing.T, text string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	in, found := false, false
	for i, l := range lines {
		switch {
		case l == "# >>> examples":
			in, found = true, true
			continue
		case l == "# <<< examples":
			in = false
			continue
		case !in:
			continue
		case l == "#":
			lines[i] = ""
		case strings.HasPrefix(l, "# "):
			lines[i] = l[2:]
		default:
			t.Fatalf("example line %d is not commented out: %q", i+1, l)
		}
	}
	if !found || in {
		t.Fatal("the example markers are missing or unbalanced")
	}
	return strings.Join(lines, "\n")
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// exampleEnv supplies every variable the example text refers to.
func exampleEnv(text string) map[string]string {
	vars := make(map[string]string)
	for _, m := range envRef.FindAllStringSubmatch(text, -1) {
		vars[m[1]] = "test-" + strings.ToLower(m[1])
		if strings.HasSuffix(m[1], "_URL") {
			vars[m[1]] = "https://" + strings.ToLower(m[1]) + ".test/v1"
		}
	}
	return vars
}

// TestExampleAsShippedIsTheDefault checks that the example, as shipped, runs
// without any environment and that every value it shows is the true default.
func TestExampleAsShippedIsTheDefault(t *testing.T) {
	cfg, err := Load(examplePath, env(nil))
	if err != nil {
		t.Fatalf("Load(example) error: %v", err)
	}
	want := Default()
	want.Server.AllowedForwardHeaders = []string{} // written as [] to show the key
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("the example's values differ from Default() (-default +example):\n%s", diff)
	}
}

// TestExampleWithEveryExampleEnabled parses the example with all commented-out
// providers and models enabled and every referenced variable set.
func TestExampleWithEveryExampleEnabled(t *testing.T) {
	text := uncommentExamples(t, readExample(t))
	vars := exampleEnv(text)
	cfg, err := Parse([]byte(text), env(vars))
	if err != nil {
		t.Fatalf("Parse(enabled example) error: %v", err)
	}

	types := map[string]bool{}
	for _, p := range cfg.Providers {
		types[p.Type] = true
	}
	for _, typ := range []string{TypeOpenAI, TypeAnthropic, TypeGemini} {
		if !types[typ] {
			t.Errorf("the example has no %s provider", typ)
		}
	}
	byName := map[string]Provider{}
	for _, p := range cfg.Providers {
		byName[p.Name] = p
	}
	for name, keyVar := range map[string]string{
		"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY", "groq": "GROQ_API_KEY",
		"openrouter": "OPENROUTER_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY",
	} {
		p, ok := byName[name]
		if !ok {
			t.Errorf("the example has no %q provider", name)
			continue
		}
		if got, want := p.APIKey.Reveal(), vars[keyVar]; got != want || want == "" {
			t.Errorf("provider %s: api_key = %q, want %q from ${%s}", name, got, want, keyVar)
		}
	}
	if got, want := byName["azure"].BaseURL, "https://test-azure_openai_resource.openai.azure.com"; got != want {
		t.Errorf("azure base_url = %q, want %q", got, want)
	}
	if got, want := byName["local"].BaseURL, "https://ollama_base_url.test/v1"; got != want {
		t.Errorf("local base_url = %q, want %q", got, want)
	}

	// Every provider serves at least one model, and every model converts.
	served := map[string]bool{}
	for _, m := range cfg.Models {
		served[m.Provider] = true
		d, err := m.Deployment()
		if err != nil {
			t.Errorf("model %s: %v", m.Name, err)
		}
		if d.Price.InputPerMTok < 0 || d.ContextWindow <= 0 {
			t.Errorf("model %s: implausible deployment %+v", m.Name, d)
		}
	}
	for name := range byName {
		if !served[name] {
			t.Errorf("provider %s has no example model", name)
		}
	}

	// Spot-check that prices are parsed exactly (nano-dollars per million tokens).
	for _, m := range cfg.Models {
		if m.Name != "openai/gpt-4o-mini" {
			continue
		}
		d, _ := m.Deployment()
		want := octomesh.Price{InputPerMTok: 150_000_000, OutputPerMTok: 600_000_000, CachedInputPerMTok: 75_000_000}
		if diff := cmp.Diff(want, d.Price); diff != "" {
			t.Errorf("gpt-4o-mini price (-want +got):\n%s", diff)
		}
	}

	// Without one referenced variable the example fails, naming it.
	delete(vars, "GEMINI_API_KEY")
	if _, err := Parse([]byte(text), env(vars)); err == nil || !strings.Contains(err.Error(), "GEMINI_API_KEY") {
		t.Errorf("Parse without GEMINI_API_KEY: error = %v, want one naming it", err)
	}
}

// TestExampleDocumentsEveryKey walks the Config struct's yaml tags and checks
// that each key appears in the example file, so the example stays complete.
func TestExampleDocumentsEveryKey(t *testing.T) {
	text := readExample(t)
	keys := yamlKeys(reflect.TypeOf(Config{}), "")
	if len(keys) < 40 {
		t.Fatalf("found only %d keys; the reflection walk is broken", len(keys))
	}
	for _, k := range keys {
		leaf := k[strings.LastIndex(k, ".")+1:]
		// As a key: at a line start (after indentation, "#", "- "), or inside a flow mapping.
		re := regexp.MustCompile(`(?m)(^[#\s-]*|[{,]\s*)` + regexp.QuoteMeta(leaf) + `:`)
		if !re.MatchString(text) {
			t.Errorf("octomesh.example.yaml does not document %s", k)
		}
	}
}

// yamlKeys lists the dotted yaml key paths of a struct type, recursively.
func yamlKeys(typ reflect.Type, prefix string) []string {
	for typ.Kind() == reflect.Slice || typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys = append(keys, prefix+name)
		if f.Type.PkgPath() != "time" { // time.Duration is a leaf
			keys = append(keys, yamlKeys(f.Type, prefix+name+".")...)
		}
	}
	return keys
}

func TestYAMLKeysWalk(t *testing.T) {
	keys := yamlKeys(reflect.TypeOf(Config{}), "")
	for _, want := range []string{"server.listen", "server.allowed_forward_headers", "database.dsn", "providers.api_key", "models.price.cached_input", "privacy.store_content"} {
		found := false
		for _, k := range keys {
			found = found || k == want
		}
		if !found {
			t.Errorf("yamlKeys misses %s; got %v", want, keys)
		}
	}
}
