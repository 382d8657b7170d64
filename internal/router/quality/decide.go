package quality

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
)

// DecideOptions selects the decision form for DecideJSONL: the tradeoff
// knob by default, or a quality floor, or a cost cap.
type DecideOptions struct {
	Tradeoff   float64  // T in [0,1], used unless Floor or MaxCostUSD is set
	Floor      *float64 // cheapest model with predicted score ≥ Floor × the best prediction
	MaxCostUSD *float64 // best predicted score with expected cost ≤ MaxCostUSD
	Workers    int      // parallel deciders; 0 means GOMAXPROCS
	KeepGoing  bool     // write an error record for a bad line instead of failing
}

// DecideStats summarises a DecideJSONL run.
type DecideStats struct {
	Lines   int // records written
	Errors  int // bad lines (KeepGoing only)
	Unknown int // candidates the router had no data on
}

// decideRequest is one input line.
type decideRequest struct {
	ID         json.RawMessage `json:"id"`
	Prompt     *string         `json:"prompt"`
	Candidates []string        `json:"candidates"`
}

// decideRecord is one output line.
type decideRecord struct {
	ID    json.RawMessage `json:"id"`
	Model string          `json:"model"`
	Error string          `json:"error,omitempty"`
}

// maxDecideLine bounds one input line.
const maxDecideLine = 64 << 20

// DecideJSONL reads requests, one JSON object a line,
//
//	{"id": "...", "prompt": "...", "candidates": ["model", ...]}
//
// and writes one line {"id": ..., "model": "..."} per request, in input
// order, choosing with opts. Blank lines are skipped. The id is echoed as
// given (a JSON string or number). A malformed line (bad JSON, missing id or
// prompt, no candidates, a line over 64 MiB) fails the run with an error
// naming its line number before anything is written, unless
// opts.KeepGoing, in which case its record carries "model": "" and an
// "error". The result is deterministic: decisions do not depend on the
// number of workers or on other lines.
func DecideJSONL(ctx context.Context, r *Router, in io.Reader, out io.Writer, opts DecideOptions) (DecideStats, error) {
	var st DecideStats
	type item struct {
		line  int
		req   decideRequest
		err   error
		model string
	}
	var items []item
	br := bufio.NewReaderSize(in, 1<<16)
	for line := 1; ; line++ {
		b, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errLineTooLong) {
				it := item{line: line, err: fmt.Errorf("line %d: longer than %d bytes", line, maxDecideLine)}
				if !opts.KeepGoing {
					return st, it.err
				}
				items = append(items, it)
				continue
			}
			return st, fmt.Errorf("read input: %w", err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			it := item{line: line}
			it.err = parseDecideRequest(b, &it.req)
			if it.err != nil {
				it.err = fmt.Errorf("line %d: %w", line, it.err)
				if !opts.KeepGoing {
					return st, it.err
				}
			}
			items = append(items, it)
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	// Decide in parallel; each item is independent.
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	unknown := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				it := &items[i]
				if it.err != nil {
					continue
				}
				model, unk, err := decideOne(r, &it.req, opts)
				if err != nil {
					it.err = fmt.Errorf("line %d: %w", it.line, err)
				}
				it.model = model
				mu.Lock()
				unknown += unk
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return st, err
	}
	st.Unknown = unknown
	for _, it := range items {
		if it.err != nil && !opts.KeepGoing {
			return st, it.err
		}
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	for _, it := range items {
		rec := decideRecord{ID: it.req.ID, Model: it.model}
		if len(rec.ID) == 0 {
			rec.ID = json.RawMessage("null")
		}
		if it.err != nil {
			rec.Error = it.err.Error()
			st.Errors++
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return st, fmt.Errorf("line %d: encode decision: %w", it.line, err)
		}
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return st, fmt.Errorf("write decisions: %w", err)
		}
		st.Lines++
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write decisions: %w", err)
	}
	return st, nil
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its newline. At the end of input
// it returns the last (possibly empty) line with io.EOF. A line longer than
// maxDecideLine is consumed and reported as errLineTooLong.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxDecideLine {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return buf, err
		}
	}
}

// parseDecideRequest decodes and validates one request line.
func parseDecideRequest(b []byte, req *decideRequest) error {
	if err := json.Unmarshal(b, req); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, err)
		}
		return fmt.Errorf("invalid request: %v", err)
	}
	id := bytes.TrimSpace(req.ID)
	if len(id) == 0 || id[0] != '"' && id[0] != '-' && (id[0] < '0' || id[0] > '9') {
		return fmt.Errorf(`"id" must be a string or a number`)
	}
	req.ID = id
	if req.Prompt == nil {
		return fmt.Errorf(`missing "prompt"`)
	}
	if len(req.Candidates) == 0 {
		return fmt.Errorf(`"candidates" must list at least one model`)
	}
	for i, c := range req.Candidates {
		if c == "" {
			return fmt.Errorf(`candidate %d is an empty name`, i)
		}
	}
	return nil
}

// decideOne decides one request; a panic (a bug) becomes an error rather
// than taking the whole run down.
func decideOne(r *Router, req *decideRequest, opts DecideOptions) (model string, unknown int, err error) {
	defer func() {
		if p := recover(); p != nil {
			model, err = "", fmt.Errorf("internal error: %v", p)
		}
	}()
	for _, c := range req.Candidates {
		if !r.Known(c) {
			unknown++
		}
	}
	switch {
	case opts.Floor != nil:
		model = r.ChooseFloor(*req.Prompt, req.Candidates, *opts.Floor)
	case opts.MaxCostUSD != nil:
		model = r.ChooseCapped(*req.Prompt, req.Candidates, *opts.MaxCostUSD)
	default:
		t := opts.Tradeoff
		if math.IsNaN(t) {
			t = 0.5
		}
		model = r.Choose(*req.Prompt, req.Candidates, t)
	}
	return model, unknown, nil
}
