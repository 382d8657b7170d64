// Package builtin holds the default quality router, trained on the shared
// routing data (routerbench, routellm, mmlupro, llmrouter) and embedded in
// the binary so `auto` routing works out of the box.
//
// Rebuild it with
//
//	octomesh router train --data ../shared/data/routing/{routerbench,routellm,mmlupro,llmrouter}.jsonl.gz \
//	    --out internal/router/quality/builtin/router.bin
package builtin

import (
	"bytes"
	_ "embed"

	"github.com/octomesh/octomesh/internal/router/quality"
)

//go:embed router.bin
var artifact []byte

// Router decodes and returns the built-in router. Each call decodes afresh
// (a few milliseconds); callers keep the result, which is safe for
// concurrent use.
func Router() (*quality.Router, error) {
	return quality.Load(bytes.NewReader(artifact))
}

// Size is the size of the embedded artifact in bytes.
func Size() int { return len(artifact) }
