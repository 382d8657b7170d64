package octomesh_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/octomesh/octomesh"

// TestImportRules enforces the layering in the design: the root imports only
// the standard library; adapters import no other adapter, store, transport or
// gateway; the transport sees root interfaces, not concrete services; and
// only cmd/octomesh assembles concrete types.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}|{{.Standard}}|{{join .Imports ","}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	standard := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			continue
		}
		standard[parts[0]] = parts[1] == "true"
		if parts[2] != "" {
			imports[parts[0]] = strings.Split(parts[2], ",")
		}
	}
	internal := func(p string) string { return module + "/internal/" + p }
	adapters := []string{internal("provider/openai"), internal("provider/anthropic"), internal("provider/gemini"), internal("provider/sim")}
	stores := []string{internal("sqlite"), internal("postgres"), internal("redis")}

	// deps returns the transitive module-internal dependencies of pkg.
	deps := func(pkg string) map[string]bool {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(p string) {
			for _, d := range imports[p] {
				if !seen[d] {
					seen[d] = true
					walk(d)
				}
			}
		}
		walk(pkg)
		return seen
	}

	for _, d := range imports[module] {
		if !standard[d] {
			t.Errorf("the root package imports %s; it may import only the standard library", d)
		}
	}
	forbid := func(pkg string, banned []string, why string) {
		t.Helper()
		if _, ok := imports[pkg]; !ok {
			t.Errorf("package %s not found by go list", pkg)
			return
		}
		all := deps(pkg)
		for _, b := range banned {
			if b != pkg && all[b] {
				t.Errorf("%s depends on %s: %s", strings.TrimPrefix(pkg, module+"/"), strings.TrimPrefix(b, module+"/"), why)
			}
		}
	}
	for _, a := range adapters {
		forbid(a, append(append(append([]string{}, adapters...), stores...), internal("httpapi"), internal("gateway"), internal("config")),
			"adapters stand alone: no other adapter, store, transport, gateway or config")
	}
	forbid(internal("httpapi"), append(append(append([]string{}, adapters...), stores...), internal("gateway"), internal("config"), internal("provider")),
		"the transport sees only root interfaces")
	forbid(internal("gateway"), append(append(append([]string{}, adapters...), stores...), internal("httpapi"), internal("config")),
		"the gateway sees providers through the root interfaces")
	for pkg := range imports {
		if !strings.HasPrefix(pkg, module+"/") || strings.HasPrefix(pkg, module+"/cmd/") {
			continue
		}
		all := deps(pkg)
		if all[internal("gateway")] && (all[internal("sqlite")] || all[internal("provider/sim")]) {
			t.Errorf("%s assembles concrete types; only cmd/octomesh may", pkg)
		}
	}
}
