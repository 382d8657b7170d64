package octomesh

import "time"

// Tristate is a yes/no answer that may be unknown. For data-policy checks
// unknown counts as the worse value (fail closed).
type Tristate string

// Tristate values.
const (
	Yes     Tristate = "yes"
	No      Tristate = "no"
	Unknown Tristate = "unknown"
)

// DataPolicy is what a deployment's provider does with the data it is sent.
type DataPolicy struct {
	RetainsPrompts Tristate      `json:"retains_prompts"`        // stores prompts/outputs at all
	Retention      time.Duration `json:"retention_ns,omitempty"` // how long, when it does
	TrainsOnData   Tristate      `json:"trains_on_data"`         // uses them to train models
}

// Objective is what the router optimises among eligible deployments.
type Objective string

// Routing objectives.
const (
	ObjectiveCheapest Objective = "cheapest" // least expected cost
	ObjectiveFastest  Objective = "fastest"  // least expected latency (live statistics)
	ObjectiveQuality  Objective = "quality"  // least cost that reaches the quality floor
	ObjectiveWeighted Objective = "weighted" // weighted sum of normalised quality, cost and latency
)

// Weights weigh normalised quality, cost and latency for ObjectiveWeighted.
type Weights struct {
	Quality float64 `json:"quality"`
	Cost    float64 `json:"cost"`
	Latency float64 `json:"latency"`
}

// RouteOptions are a request's routing preferences and constraints: config
// defaults, then the API key's, then the request's own (the "octomesh" object
// in the body, or x-octomesh-* headers), later ones narrowing earlier ones.
// Constraints only ever tighten: a request cannot lift its key's or its org's.
type RouteOptions struct {
	Objective    Objective `json:"objective,omitempty"`
	Weights      *Weights  `json:"weights,omitempty"`
	QualityFloor *float64  `json:"quality_floor,omitempty"` // fraction (0-1] of the best candidate's predicted quality
	Tradeoff     *float64  `json:"tradeoff,omitempty"`      // 0 = cheapest acceptable … 1 = best predicted quality
	MaxCostUSD   string    `json:"max_cost_usd,omitempty"`  // a cost cap per request, decimal dollars

	ZeroRetention bool     `json:"zero_retention,omitempty"` // only deployments that retain nothing
	NoTraining    bool     `json:"no_training,omitempty"`    // only deployments that never train on data
	Regions       []string `json:"regions,omitempty"`        // only deployments in these regions

	Fallbacks []string `json:"fallbacks,omitempty"`  // explicit fallback models, in order
	Hedge     *bool    `json:"hedge,omitempty"`      // allow hedged attempts (when the group allows them)
	TimeoutMS int      `json:"timeout_ms,omitempty"` // total time budget for the request
}

// Exclusion records why a candidate was not eligible.
type Exclusion struct {
	Deployment string `json:"deployment"`
	Constraint string `json:"constraint"` // e.g. "capability:tools", "policy:zero_retention", "circuit_open"
	Reason     string `json:"reason"`     // a sentence for people
}

// CandidateScore is one eligible candidate as the router scored it.
type CandidateScore struct {
	Deployment      string  `json:"deployment"`
	Quality         float64 `json:"quality"`            // predicted quality in [0,1]
	ExpectedCost    Money   `json:"expected_cost_nano"` // nano-dollars
	ExpectedLatency float64 `json:"expected_latency_ms"`
	Score           float64 `json:"score"` // higher is better under the objective
	Outstanding     int     `json:"outstanding"`
	Probe           bool    `json:"probe,omitempty"`       // a half-open circuit's probe
	PanicFloor      bool    `json:"panic_floor,omitempty"` // circuit open; kept eligible by the panic floor
}

// AttemptRecord is one upstream attempt made while executing a plan.
type AttemptRecord struct {
	Deployment string        `json:"deployment"`
	Provider   string        `json:"provider"`
	Outcome    string        `json:"outcome"` // "ok", or an error code
	Status     int           `json:"status,omitempty"`
	Start      time.Duration `json:"start_ns"` // from the request's arrival
	Duration   time.Duration `json:"duration_ns"`
	TTFB       time.Duration `json:"ttfb_ns,omitempty"`
	Hedge      bool          `json:"hedge,omitempty"`
	Continued  bool          `json:"continued,omitempty"` // continued a stream another attempt began
	Relayed    int           `json:"relayed_bytes,omitempty"`
}

// Decision is the record of how one request was routed: metadata only,
// never content. It is kept for the owning org and shown in the dashboard.
type Decision struct {
	RequestID     string           `json:"request_id"`
	OrgID         string           `json:"org_id,omitempty"`
	Time          time.Time        `json:"time"`
	Requested     string           `json:"requested_model"`
	Objective     Objective        `json:"objective"`
	PolicyVersion string           `json:"policy_version"`
	Candidates    []CandidateScore `json:"candidates"`
	Excluded      []Exclusion      `json:"excluded"`
	Plan          []string         `json:"plan"`
	Attempts      []AttemptRecord  `json:"attempts"`
	Outcome       string           `json:"outcome,omitempty"` // "ok", or the final error code
	// PromptCluster is the prompt's cluster for online learning, 1…N; 0
	// when none was computed. Feedback on the request counts in it.
	PromptCluster int `json:"prompt_cluster,omitempty"`
	// Explored is set when the first attempt went, by the exploration
	// budget, to a candidate with little feedback in the cluster rather
	// than the best-ranked one (which follows it in the plan).
	Explored bool `json:"explored,omitempty"`
}
