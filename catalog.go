package octomesh

import "time"

// Capabilities are what a deployment can do. Routing drops deployments that
// lack a capability a request needs.
type Capabilities struct {
	Tools      bool `json:"tools"`
	JSONSchema bool `json:"json_schema"`
	Vision     bool `json:"vision"`
	Streaming  bool `json:"streaming"`
	Embeddings bool `json:"embeddings"`
	// Continuation: the deployment continues a partial assistant message
	// given as the last message (a prefill), so a stream cut mid-answer can
	// be completed there.
	Continuation bool `json:"continuation"`
}

// Deployment is one routable model: a public name served by one provider
// instance under an upstream model name, with its limits, prices and abilities.
type Deployment struct {
	Name            string       `json:"name"`           // public model id, e.g. "sim/gpt-4o-mini"
	Provider        string       `json:"provider"`       // provider instance ID
	UpstreamModel   string       `json:"upstream_model"` // the model name the provider knows
	ContextWindow   int          `json:"context_window"`
	MaxOutputTokens int          `json:"max_output_tokens"`
	Capabilities    Capabilities `json:"capabilities"`
	Price           Price        `json:"price"`
	// PriceChanges are dated price lists, sorted by Effective: the latest
	// one in effect at a request's start prices it, and Price prices
	// requests before the first. So old usage stays priced as it was.
	PriceChanges []DatedPrice `json:"price_changes,omitempty"`
	Region       string       `json:"region,omitempty"`
	DataPolicy   DataPolicy   `json:"data_policy"`
	Groups       []string     `json:"groups,omitempty"` // model groups this deployment serves (e.g. "fast")
	Weight       int          `json:"weight,omitempty"` // load-balancing weight within its groups; 0 means 1
	OwnedBy      string       `json:"owned_by"`
	Created      int64        `json:"created"` // unix seconds, as /v1/models reports
}

// DatedPrice is a price list in effect from Effective on.
type DatedPrice struct {
	Effective time.Time `json:"effective"`
	Price     Price     `json:"price"`
}

// BasePriceVersion names a deployment's Price when no dated change applies.
const BasePriceVersion = "base"

// PriceAt returns the price list in effect at t and its version: the
// effective date of the dated change ("2026-12-01T00:00:00Z") or
// BasePriceVersion.
func (d *Deployment) PriceAt(t time.Time) (Price, string) {
	for i := len(d.PriceChanges) - 1; i >= 0; i-- {
		if pc := d.PriceChanges[i]; !t.Before(pc.Effective) {
			return pc.Price, pc.Effective.UTC().Format(time.RFC3339)
		}
	}
	return d.Price, BasePriceVersion
}

// Catalog resolves public model names to deployments. Implementations are
// safe for concurrent use.
type Catalog interface {
	// Deployment returns the named deployment; ok is false if none exists.
	Deployment(name string) (d *Deployment, ok bool)
	// Deployments lists every deployment in a stable order.
	Deployments() []*Deployment
}
