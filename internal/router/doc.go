// Package router is OctoMesh's routing logic: the model catalogue (deployments,
// groups, aliases), per-request decisions (constraints, scores, ordered plans
// with per-attempt timeouts and hedging), and the live state that informs
// them (per-deployment latency statistics, outstanding requests, circuit
// breakers, Retry-After cool-downs, and the retry and hedge budgets).
//
// It does no I/O and starts no goroutines; time and randomness are injected
// through Config so tests are deterministic.
//
// # Lifecycle
//
// Build one Router at start with New. For each client request the executor
//
//  1. merges the route options of the config, the key and the request with
//     Merge (constraints only tighten),
//  2. calls Admit once (it funds the retry and hedge budgets),
//  3. calls Decide, which returns a Plan: ordered attempts with timeouts, the
//     attempt cap, the hedge rule and the Decision record,
//  4. for each attempt it makes, calls Acquire (or Begin), then exactly once
//     End on the returned Inflight with the attempt's Outcome,
//  5. asks AllowRetry before every attempt after the first and AllowHedge
//     before a hedge, and calls CoolDown when a provider answers Retry-After.
//
// A Router is safe for concurrent use. Decide reads live state through
// atomics only; outcomes update one deployment under that deployment's own
// mutex, so there is no router-wide lock.
package router
