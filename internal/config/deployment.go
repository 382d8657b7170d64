package config

import (
	"fmt"
	"time"

	"github.com/octomesh/octomesh"
)

// PublicName returns the model's public name: Name, or
// "<provider>/<upstream_model>" when Name is empty (and "" when either part
// of the default is missing).
func (m Model) PublicName() string {
	if m.Name != "" {
		return m.Name
	}
	if m.Provider == "" || m.UpstreamModel == "" {
		return ""
	}
	return m.Provider + "/" + m.UpstreamModel
}

// Deployment converts the model to the routable octomesh.Deployment. OwnedBy
// is the provider instance name. It returns an error for an unparsable price
// or an unknown capability; a validated Config never has either.
func (m Model) Deployment() (octomesh.Deployment, error) {
	price, err := m.Price.Money()
	if err != nil {
		return octomesh.Deployment{}, fmt.Errorf("model %s: %w", m.PublicName(), err)
	}
	var changes []octomesh.DatedPrice
	for i, pc := range m.PriceChanges {
		t, err := parseEffective(pc.Effective)
		if err != nil {
			return octomesh.Deployment{}, fmt.Errorf("model %s: price_changes[%d].effective: %w", m.PublicName(), i, err)
		}
		pr, err := pc.Price.Money()
		if err != nil {
			return octomesh.Deployment{}, fmt.Errorf("model %s: price_changes[%d]: %w", m.PublicName(), i, err)
		}
		changes = append(changes, octomesh.DatedPrice{Effective: t, Price: pr})
	}
	var caps octomesh.Capabilities
	for _, c := range m.Capabilities {
		switch c {
		case "tools":
			caps.Tools = true
		case "json_schema":
			caps.JSONSchema = true
		case "vision":
			caps.Vision = true
		case "streaming":
			caps.Streaming = true
		case "embeddings":
			caps.Embeddings = true
		case "continuation":
			caps.Continuation = true
		default:
			return octomesh.Deployment{}, fmt.Errorf("model %s: unknown capability %s", m.PublicName(), quoted(c))
		}
	}
	return octomesh.Deployment{
		Name:            m.PublicName(),
		Provider:        m.Provider,
		UpstreamModel:   m.UpstreamModel,
		ContextWindow:   m.ContextWindow,
		MaxOutputTokens: m.MaxOutputTokens,
		Capabilities:    caps,
		Price:           price,
		PriceChanges:    changes,
		Region:          m.Region,
		DataPolicy:      m.DataPolicy.Policy(),
		Groups:          m.Groups,
		Weight:          m.Weight,
		OwnedBy:         m.Provider,
	}, nil
}

// Money parses the price list exactly. Empty fields are zero (Validate is
// what requires input and output).
func (p Price) Money() (octomesh.Price, error) {
	var out octomesh.Price
	dst := []*octomesh.Money{&out.InputPerMTok, &out.OutputPerMTok, &out.CachedInputPerMTok, &out.PerRequest}
	for i, f := range p.fields() {
		if *f.value == "" {
			continue
		}
		v, err := parsePrice(*f.value)
		if err != nil {
			return octomesh.Price{}, fmt.Errorf("price.%s: %w", f.name, err)
		}
		*dst[i] = v
	}
	return out, nil
}

// priceField is one field of a Price, for validation and conversion.
type priceField struct {
	name     string
	value    *string
	required bool
}

// fields lists the price fields in the order of octomesh.Price.
func (p *Price) fields() []priceField {
	return []priceField{
		{"input", &p.Input, true},
		{"output", &p.Output, true},
		{"cached_input", &p.CachedInput, false},
		{"per_request", &p.PerRequest, false},
	}
}

// parseEffective parses a price change's date: YYYY-MM-DD (midnight UTC)
// or an RFC 3339 time.
func parseEffective(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not a date like 2026-12-01 or an RFC 3339 time", quoted(s))
	}
	return t.UTC(), nil
}
