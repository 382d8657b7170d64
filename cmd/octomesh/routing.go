package main

import (
	"fmt"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/router"
	"github.com/octomesh/octomesh/internal/router/online"
)

// newRouter builds the router from the configured routing section and the
// deployments every provider serves, and the online learner its quality
// predictions blend in (the gateway feeds it feedback and asks it to explore).
func newRouter(c config.Routing, deployments []octomesh.Deployment, aliases map[string]string) (*router.Router, octomesh.RouteOptions, *online.Learner, error) {
	rc := router.Config{
		Deployments:   deployments,
		Aliases:       aliases,
		Defaults:      c.Defaults.RouteOptions(),
		MaxAttempts:   c.MaxAttempts,
		RetryBudget:   router.BudgetConfig{Ratio: c.RetryBudget.Ratio, MinPerSecond: c.RetryBudget.MinPerSecond},
		HedgeBudget:   router.BudgetConfig{Ratio: c.HedgeBudget.Ratio, MinPerSecond: c.HedgeBudget.MinPerSecond},
		QualityPriors: c.QualityPriors,
		Health: router.HealthConfig{
			ConsecutiveFailures: c.Health.ConsecutiveFailures, ErrorRate: c.Health.ErrorRate, MinRequests: c.Health.MinRequests,
			Window: c.Health.Window, BaseEjection: c.Health.BaseEjection, MaxEjection: c.Health.MaxEjection,
			HalfOpenProbes: c.Health.HalfOpenProbes, MaxEjectedFraction: c.Health.MaxEjectedFraction,
		},
		Timeouts: router.TimeoutConfig{Connect: c.Timeouts.Connect, FirstByte: c.Timeouts.FirstByte, Idle: c.Timeouts.Idle, Total: c.Timeouts.Total},
		Now:      time.Now,
	}
	learner, err := newOnlineLearner(deployments)
	if err != nil {
		return nil, octomesh.RouteOptions{}, nil, err
	}
	qp, err := newQualityPredictor(deployments, learner)
	if err != nil {
		return nil, octomesh.RouteOptions{}, nil, err
	}
	rc.Quality = qp
	for _, g := range c.Groups {
		rc.Groups = append(rc.Groups, router.GroupConfig{Name: g.Name, Strategy: g.Strategy, Hedge: g.Hedge, HedgePercentile: g.HedgePercentile, HedgeDelay: g.HedgeDelay})
	}
	r, err := router.New(rc)
	if err != nil {
		return nil, octomesh.RouteOptions{}, nil, fmt.Errorf("routing: %w", err)
	}
	return r, rc.Defaults, learner, nil
}
