package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a configuration file.
const MaxFileSize = 4 << 20

// Load reads the YAML configuration file at path and returns it parsed,
// defaulted and validated (see Parse). getenv resolves ${VAR} references;
// pass os.Getenv in production and a map lookup in tests.
//
// Errors name the file, and the line or field path of each problem. They
// never contain the value of an environment variable or a secret.
func Load(path string, getenv func(string) string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Config{}, fmt.Errorf("load config %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return Config{}, fmt.Errorf("load config %s: file larger than %s", path, ByteSize(MaxFileSize))
	}
	cfg, err := Parse(data, getenv)
	if err != nil {
		return Config{}, fmt.Errorf("load config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse parses a YAML configuration document:
//
//  1. ${VAR} and ${VAR:-default} references are expanded once over the raw
//     text (see expandEnv for the exact rules; $${ is a literal ${). A
//     reference to an unset or empty variable without a default is an error
//     naming the variable and the line. A nil getenv means an empty environment.
//  2. The text is decoded on top of Default(), so omitted settings keep their
//     defaults; unknown keys are errors.
//  3. Per-entry defaults are filled: a model's name ("<provider>/<upstream_model>"),
//     an openai provider's auth (api-key with api_version, else bearer), an
//     anthropic provider's default_max_tokens (4096).
//  4. The result is validated (see Validate).
//
// An empty document gives Default().
func Parse(data []byte, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	text, values, err := expandEnv(data, getenv)
	if err != nil {
		return Config{}, err
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	var typeErrs problems
	switch err := dec.Decode(&cfg); {
	case errors.Is(err, io.EOF):
		// An empty document (or only comments): the defaults.
	case err != nil:
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return Config{}, scrub(err, values)
		}
		// Wrong types and unknown keys: yaml.v3 decoded the rest, so
		// they are reported together with Validate's problems below.
		typeErrs = yamlProblems(text, te)
	default:
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return Config{}, errors.New("the configuration must be a single YAML document")
		}
	}
	cfg.applyDefaults()
	err = cfg.Validate()
	if len(typeErrs) > 0 {
		err = errors.Join(append(typeErrs, err)...)
	}
	if err != nil {
		return Config{}, scrub(err, values)
	}
	return cfg, nil
}

// applyDefaults fills the defaults of list entries, which Default() cannot hold.
func (c *Config) applyDefaults() {
	for i := range c.Providers {
		p := &c.Providers[i]
		switch p.Type {
		case TypeOpenAI:
			if p.Auth == "" {
				p.Auth = AuthBearer
				if p.APIVersion != "" {
					p.Auth = AuthAPIKey
				}
			}
		case TypeAnthropic:
			if p.DefaultMaxTokens == 0 {
				p.DefaultMaxTokens = DefaultAnthropicMaxTokens
			}
		}
	}
	for i := range c.Models {
		c.Models[i].Name = c.Models[i].PublicName()
	}
}

// yamlValue matches the scalar values quoted in yaml's type errors
// ("cannot unmarshal !!str `sk-abc1...` into int").
var yamlValue = regexp.MustCompile(" `[^`]*`")

// scrub returns err's message without any quoted YAML value and without any
// value taken from the environment: both may be secrets. Values shorter than
// four bytes are left alone (they cannot be credentials, and would otherwise
// mangle line numbers).
func scrub(err error, values []string) error {
	msg := yamlValue.ReplaceAllString(err.Error(), "")
	vs := append([]string(nil), values...)
	sort.Slice(vs, func(i, j int) bool { return len(vs[i]) > len(vs[j]) })
	for _, v := range vs {
		if len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, "[REDACTED]")
		}
	}
	return errors.New(msg)
}
