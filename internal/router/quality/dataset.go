package quality

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Example is one prompt of a routing data file and the outcomes of the models
// that answered it. Only Prompt and the model names may be used at decision
// time; ID and Dataset are for fold assignment and per-task reporting.
type Example struct {
	ID       string
	Dataset  string
	Prompt   string
	Outcomes []Outcome // sorted by Model, one per model with a score
}

// Outcome is one model's graded answer to one prompt.
type Outcome struct {
	Model     string
	Score     float64 // in [0,1]
	Cost      float64 // USD; NaN when unknown
	TokensIn  float64 // NaN when unknown
	TokensOut float64 // NaN when unknown
	PriceIn   float64 // USD per token from the data; NaN when unknown
	PriceOut  float64 // USD per token from the data; NaN when unknown
}

// Outcome returns the outcome of model on e, or nil.
func (e *Example) Outcome(model string) *Outcome {
	i := sort.Search(len(e.Outcomes), func(i int) bool { return e.Outcomes[i].Model >= model })
	if i < len(e.Outcomes) && e.Outcomes[i].Model == model {
		return &e.Outcomes[i]
	}
	return nil
}

// Models returns the names of the models answering e, sorted.
func (e *Example) Models() []string {
	out := make([]string, len(e.Outcomes))
	for i, o := range e.Outcomes {
		out[i] = o.Model
	}
	return out
}

// rawRow is the wire shape of one data line.
type rawRow struct {
	ID      string                     `json:"id"`
	Dataset string                     `json:"dataset"`
	Prompt  string                     `json:"prompt"`
	Models  map[string]json.RawMessage `json:"models"`
}

type rawOutcome struct {
	Score     *float64 `json:"score"`
	Cost      *float64 `json:"cost_usd"`
	TokensIn  *float64 `json:"tokens_in"`
	TokensOut *float64 `json:"tokens_out"`
	PriceIn   *float64 `json:"price_in_per_mtok"`
	PriceOut  *float64 `json:"price_out_per_mtok"`
}

// maxLine bounds one data line (a prompt and its outcomes).
const maxLine = 16 << 20

// ReadExamples reads routing examples, one JSON object a line, from r
// (gzip-compressed or plain; detected from the content). Lines that are
// blank are skipped; a malformed line is an error naming its line number.
// Outcomes without a score are dropped, as are examples left with none.
func ReadExamples(r io.Reader) ([]Example, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open gzip stream: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	var out []Example
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		ex, err := parseExample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if len(ex.Outcomes) > 0 {
			out = append(out, ex)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read examples: %w", err)
	}
	return out, nil
}

func parseExample(line []byte) (Example, error) {
	var raw rawRow
	if err := json.Unmarshal(line, &raw); err != nil {
		return Example{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if raw.Prompt == "" {
		return Example{}, fmt.Errorf("missing prompt")
	}
	ex := Example{ID: raw.ID, Dataset: raw.Dataset, Prompt: raw.Prompt}
	if ex.ID == "" {
		ex.ID = raw.Prompt
	}
	for name, msg := range raw.Models {
		var ro rawOutcome
		if err := json.Unmarshal(msg, &ro); err != nil {
			return Example{}, fmt.Errorf("model %q: invalid outcome: %w", name, err)
		}
		if ro.Score == nil || math.IsNaN(*ro.Score) {
			continue
		}
		o := Outcome{
			Model:     name,
			Score:     min(1, max(0, *ro.Score)),
			Cost:      opt(ro.Cost, 1),
			TokensIn:  opt(ro.TokensIn, 1),
			TokensOut: opt(ro.TokensOut, 1),
			PriceIn:   opt(ro.PriceIn, 1e-6),
			PriceOut:  opt(ro.PriceOut, 1e-6),
		}
		ex.Outcomes = append(ex.Outcomes, o)
	}
	sort.Slice(ex.Outcomes, func(i, j int) bool { return ex.Outcomes[i].Model < ex.Outcomes[j].Model })
	return ex, nil
}

// opt returns *p × scale, or NaN for a missing or negative value.
func opt(p *float64, scale float64) float64 {
	if p == nil || *p < 0 {
		return math.NaN()
	}
	return *p * scale
}

// DataFile is the examples of one data file.
type DataFile struct {
	Name     string // the file's base name without extensions, e.g. "routellm"
	Examples []Example
}

// LoadFiles reads each named file with ReadExamples.
func LoadFiles(paths []string) ([]DataFile, error) {
	out := make([]DataFile, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		ex, err := ReadExamples(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if len(ex) == 0 {
			return nil, fmt.Errorf("%s: no examples with scores", p)
		}
		out = append(out, DataFile{Name: fileStem(p), Examples: ex})
	}
	return out, nil
}

func fileStem(p string) string {
	b := filepath.Base(p)
	for _, ext := range []string{".gz", ".jsonl", ".json", ".ndjson"} {
		b = strings.TrimSuffix(b, ext)
	}
	return b
}
