package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

var testEnv = env(map[string]string{
	"KEY":    "sk-123",
	"HOST":   "example.com",
	"PORT":   "8443",
	"QUOTES": `a"b\c`,
	"APOS":   "it's",
	"NL":     "line1\nline2",
	"COLON":  "a: b",
	"HASH":   "a #b",
	"LEAD":   "*star",
	"SPACE":  " padded ",
	"REF":    "${KEY}",
	"URL":    "https://x.example/v1",
})

func TestExpandEnv(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "k: ${KEY}\n", "k: sk-123\n"},
		{"double quoted", `k: "${KEY}"`, `k: "sk-123"`},
		{"inside a value", "url: https://${HOST}:${PORT}/v1", "url: https://example.com:8443/v1"},
		{"default unused", "k: ${KEY:-fallback}", "k: sk-123"},
		{"default used", "k: ${UNSET:-fallback}", "k: fallback"},
		{"default empty", "k: ${UNSET:-}", "k: "},
		{"default with colon", "u: ${UNSET:-http://127.0.0.1:11434/v1}", "u: http://127.0.0.1:11434/v1"},
		{"escape", "k: $${KEY}", "k: ${KEY}"},
		{"escape then ref", "k: $${KEY}${KEY}", "k: ${KEY}sk-123"},
		{"bare dollar", "k: $5 and $KEY and $", "k: $5 and $KEY and $"},
		{"expanded once", "k: ${REF}", "k: ${KEY}"},
		{"comment line untouched", "# ${MISSING}\nk: 1 # ${MISSING}\n", "# ${MISSING}\nk: 1 # ${MISSING}\n"},
		{"hash inside a value is not a comment", "k: a#${KEY}", "k: a#sk-123"},
		{"hash in quotes is not a comment", `k: "a #${KEY}"`, `k: "a #sk-123"`},
		{"double-quote escaping", `k: "${QUOTES}"`, `k: "a\"b\\c"`},
		{"newline in double quotes", `k: "${NL}"`, `k: "line1\nline2"`},
		{"single-quote escaping", `k: '${APOS}'`, `k: 'it''s'`},
		{"colon quoted", `k: "${COLON}"`, `k: "a: b"`},
		{"apostrophe in plain text does not open a quote", "k: it's ${KEY} # ${MISSING}", "k: it's sk-123 # ${MISSING}"},
		{"multi-line double quote", "k: \"first\n  ${KEY} # not a comment\"\n", "k: \"first\n  sk-123 # not a comment\"\n"},
		{"block scalar", "k: |\n  #${KEY}\n  'x ${KEY}\nj: ${KEY}\n", "k: |\n  #sk-123\n  'x sk-123\nj: sk-123\n"},
		{"block scalar in a list", "- |\n  ${KEY}\n- ${KEY}\n", "- |\n  sk-123\n- sk-123\n"},
		{"crlf", "a: ${KEY}\r\nb: 1\r\n", "a: sk-123\r\nb: 1\r\n"},
		{"flow", "l: [${KEY}, \"${HOST}\"]", "l: [sk-123, \"example.com\"]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := expandEnv([]byte(tt.in), testEnv)
			if err != nil {
				t.Fatalf("expandEnv error: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpandEnvErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"missing", "a: 1\nb: ${MISSING}\n", []string{"line 2", "MISSING", "not set"}},
		{"missing in quotes", "a: \"${MISSING}\"", []string{"line 1", "MISSING"}},
		{"unterminated", "a: ${KEY", []string{"line 1", "unterminated"}},
		{"empty name", "a: ${}", []string{"invalid reference"}},
		{"bad name", "a: ${1X}", []string{"invalid reference"}},
		{"other operator", "a: ${KEY:?oops}", []string{"invalid reference"}},
		{"dash without colon", "a: ${KEY-x}", []string{"invalid reference"}},
		{"newline unquoted", "a: ${NL}", []string{"line 1", "NL", "double quotes"}},
		{"colon unquoted", "a: ${COLON}", []string{"COLON", "double quotes"}},
		{"hash unquoted", "a: ${HASH}", []string{"HASH"}},
		{"indicator at scalar start", "a: ${LEAD}", []string{"LEAD"}},
		{"blanks unquoted", "a: x${SPACE}", []string{"SPACE"}},
		{"newline single quoted", "a: '${NL}'", []string{"NL", "single quotes"}},
		{"newline in block", "a: |\n  ${NL}\n", []string{"line 2", "NL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := expandEnv([]byte(tt.in), testEnv)
			if err == nil {
				t.Fatal("expandEnv succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, secret := range []string{"line1", "a: b", "*star", "padded"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the variable's value", err)
				}
			}
		})
	}
}

// TestExpandEnvRoundTrip checks that any value substituted in double quotes
// decodes back to exactly itself.
func TestExpandEnvRoundTrip(t *testing.T) {
	values := []string{`plain`, `a"b`, `back\slash`, "tab\tnl\ncr\r", "ctl\x01\x7f", `${KEY}`, `it's`, "ünï©ødé", "# not a comment", "x: y"}
	for _, v := range values {
		text, _, err := expandEnv([]byte(`k: "${V}"`), env(map[string]string{"V": v}))
		if err != nil {
			t.Fatalf("expand %q: %v", v, err)
		}
		var got struct{ K string }
		if err := yaml.Unmarshal(text, &got); err != nil {
			t.Fatalf("decode %q: %v", text, err)
		}
		if got.K != v {
			t.Errorf("round trip of %q gave %q", v, got.K)
		}
	}
}

func TestExpandEnvReportsValues(t *testing.T) {
	_, values, err := expandEnv([]byte("a: ${KEY}\nb: ${UNSET:-dflt}\nc: \"${HOST}\"\n"), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	// Defaults come from the file, not the environment: not reported.
	if diff := cmp.Diff([]string{"sk-123", "example.com"}, values); diff != "" {
		t.Errorf("values mismatch (-want +got):\n%s", diff)
	}
}

func TestParseExpandsEnv(t *testing.T) {
	doc := `
server:
  listen: "${HOST:-127.0.0.1}:${PORT}"
sim:
  seed: ${SEED:-7}
  enabled: ${SIM:-false}
providers:
  - name: openai
    type: openai
    base_url: ${URL}
    api_key: "${KEY}"
    headers:
      X-Literal: "$${NOT_EXPANDED}"
`
	cfg, err := Parse([]byte(doc), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Server.Listen, "example.com:8443"; got != want {
		t.Errorf("listen = %q, want %q", got, want)
	}
	if got, want := cfg.Sim.Seed, int64(7); got != want {
		t.Errorf("seed = %d, want %d", got, want)
	}
	if cfg.Sim.Enabled {
		t.Errorf("sim.enabled = true, want false from the default")
	}
	p := cfg.Providers[0]
	if p.BaseURL != "https://x.example/v1" || p.APIKey.Reveal() != "sk-123" || p.Headers["X-Literal"] != "${NOT_EXPANDED}" {
		t.Errorf("provider = base_url %q, key %q, header %q", p.BaseURL, p.APIKey.Reveal(), p.Headers["X-Literal"])
	}
}
