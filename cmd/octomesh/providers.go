package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/provider"
	"github.com/octomesh/octomesh/internal/provider/anthropic"
	"github.com/octomesh/octomesh/internal/provider/gemini"
	"github.com/octomesh/octomesh/internal/provider/openai"
	"github.com/octomesh/octomesh/internal/provider/sim"
)

// wiring is the set of provider instances and deployments built from config.
type wiring struct {
	providers   map[string]octomesh.Provider
	deployments []octomesh.Deployment
	aliases     map[string]string
}

// buildProviders constructs the sim fleet (unless disabled) and every
// configured provider, and the deployments they serve.
func buildProviders(cfg config.Config, log *slog.Logger) (*wiring, error) {
	w := &wiring{providers: map[string]octomesh.Provider{}, aliases: map[string]string{}}
	if cfg.Sim.Enabled {
		// sim.Options.Speed scales delays; the config's speed scales throughput.
		delay := 0.0
		if cfg.Sim.Speed > 0 {
			delay = 1 / cfg.Sim.Speed
		}
		fleet, err := sim.New(sim.Options{
			Seed: cfg.Sim.Seed, Speed: delay, FailureScale: cfg.Sim.FailureScale,
			AllowFaultHints: cfg.Sim.AllowFaultHints, Now: time.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		w.providers[fleet.ID()] = fleet
		w.deployments = append(w.deployments, fleet.Deployments()...)
	}
	var hc *http.Client
	for i, pc := range cfg.Providers {
		if hc == nil {
			// routing.timeouts.connect bounds dialling and TLS for every upstream.
			hc = provider.NewHTTPClient(provider.HTTPOptions{
				DialTimeout: cfg.Routing.Timeouts.Connect, TLSHandshakeTimeout: cfg.Routing.Timeouts.Connect,
			}, true)
		}
		p, err := newProvider(pc, hc)
		if err != nil {
			return nil, fmt.Errorf("providers[%d] (%s): %w", i, pc.Name, err)
		}
		if _, dup := w.providers[pc.Name]; dup {
			return nil, fmt.Errorf("providers[%d]: name %q is already in use", i, pc.Name)
		}
		w.providers[pc.Name] = p
	}
	for i, mc := range cfg.Models {
		d, err := mc.Deployment()
		if err != nil {
			return nil, fmt.Errorf("models[%d]: %w", i, err)
		}
		w.deployments = append(w.deployments, d)
		for _, a := range mc.Aliases {
			w.aliases[a] = d.Name
		}
	}
	log.Debug("providers built", "providers", len(w.providers), "deployments", len(w.deployments))
	return w, nil
}

func newProvider(pc config.Provider, hc *http.Client) (octomesh.Provider, error) {
	switch pc.Type {
	case "openai":
		return openai.New(openai.Config{ID: pc.Name, BaseURL: pc.BaseURL, APIKey: pc.APIKey, Auth: pc.Auth,
			Headers: pc.Headers, APIVersion: pc.APIVersion, Quirks: pc.Quirks}, hc)
	case "anthropic":
		return anthropic.New(anthropic.Config{ID: pc.Name, BaseURL: pc.BaseURL, APIKey: pc.APIKey,
			Headers: pc.Headers, DefaultMaxTokens: pc.DefaultMaxTokens}, hc)
	case "gemini":
		return gemini.New(gemini.Config{ID: pc.Name, BaseURL: pc.BaseURL, APIKey: pc.APIKey, Headers: pc.Headers}, hc)
	}
	return nil, fmt.Errorf("unknown provider type %q (want openai, anthropic or gemini)", pc.Type)
}
