package gateway

import (
	"fmt"
	"sort"
	"strings"

	"github.com/octomesh/octomesh"
)

// Catalog is the immutable set of deployments the gateway serves, indexed by
// public name and alias. It is built once at start and is safe for
// concurrent use.
type Catalog struct {
	list    []*octomesh.Deployment
	byName  map[string]*octomesh.Deployment
	aliases map[string]string
}

var _ octomesh.Catalog = (*Catalog)(nil)

// NewCatalog indexes deployments. Besides explicit aliases, each deployment's
// bare upstream model name (e.g. "gpt-4o-mini" for "sim/gpt-4o-mini") becomes
// an alias when exactly one deployment has it, so OpenAI SDK defaults work.
// It returns an error for duplicate names or aliases that point nowhere.
func NewCatalog(deployments []octomesh.Deployment, aliases map[string]string) (*Catalog, error) {
	c := &Catalog{byName: map[string]*octomesh.Deployment{}, aliases: map[string]string{}}
	bare := map[string][]string{}
	for i := range deployments {
		d := deployments[i]
		if d.Name == "" {
			return nil, fmt.Errorf("deployment %d has no name", i)
		}
		if d.Name == AutoModel {
			return nil, fmt.Errorf("deployment name %q is reserved", AutoModel)
		}
		if _, dup := c.byName[d.Name]; dup {
			return nil, fmt.Errorf("duplicate deployment name %q", d.Name)
		}
		c.byName[d.Name] = &d
		c.list = append(c.list, &d)
		if b := d.UpstreamModel; b != "" && b != d.Name {
			bare[b] = append(bare[b], d.Name)
		}
	}
	for b, names := range bare {
		if _, taken := c.byName[b]; len(names) == 1 && !taken {
			c.aliases[b] = names[0]
		}
	}
	for alias, target := range aliases {
		if _, ok := c.byName[target]; !ok {
			return nil, fmt.Errorf("alias %q points to unknown deployment %q", alias, target)
		}
		if _, taken := c.byName[alias]; taken {
			return nil, fmt.Errorf("alias %q is also a deployment name", alias)
		}
		c.aliases[alias] = target
	}
	sort.Slice(c.list, func(i, j int) bool { return c.list[i].Name < c.list[j].Name })
	return c, nil
}

// Deployment returns the deployment with the given name or alias.
func (c *Catalog) Deployment(name string) (*octomesh.Deployment, bool) {
	if d, ok := c.byName[name]; ok {
		return d, true
	}
	if target, ok := c.aliases[name]; ok {
		return c.byName[target], true
	}
	return nil, false
}

// Deployments lists every deployment sorted by name.
func (c *Catalog) Deployments() []*octomesh.Deployment { return c.list }

// suggest returns up to three deployment names resembling name, for 404s.
func (c *Catalog) suggest(name string) []string {
	name = strings.ToLower(name)
	var out []string
	for _, d := range c.list {
		n := strings.ToLower(d.Name)
		if strings.Contains(n, name) || (len(name) > 3 && strings.Contains(name, strings.ToLower(d.UpstreamModel))) {
			out = append(out, d.Name)
			if len(out) == 3 {
				break
			}
		}
	}
	return out
}
