package octomesh

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
	Region          string       `json:"region,omitempty"`
	DataPolicy      DataPolicy   `json:"data_policy"`
	Groups          []string     `json:"groups,omitempty"` // model groups this deployment serves (e.g. "fast")
	Weight          int          `json:"weight,omitempty"` // load-balancing weight within its groups; 0 means 1
	OwnedBy         string       `json:"owned_by"`
	Created         int64        `json:"created"` // unix seconds, as /v1/models reports
}

// Catalog resolves public model names to deployments. Implementations are
// safe for concurrent use.
type Catalog interface {
	// Deployment returns the named deployment; ok is false if none exists.
	Deployment(name string) (d *Deployment, ok bool)
	// Deployments lists every deployment in a stable order.
	Deployments() []*Deployment
}
