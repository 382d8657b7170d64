package quality

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type decision struct {
	ID    any    `json:"id"`
	Model string `json:"model"`
	Error string `json:"error,omitempty"`
}

func readDecisions(t *testing.T, b []byte) []decision {
	t.Helper()
	var out []decision
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var d decision
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("output line %d %q: %v", i+1, line, err)
		}
		out = append(out, d)
	}
	return out
}

func TestDecideJSONLOrderAndDeterminism(t *testing.T) {
	r := trainSynth(t, "lr", 400)
	rng := rand.New(rand.NewPCG(2, 2))
	var in bytes.Buffer
	var wantIDs []any
	for i := 0; i < 500; i++ {
		cands := []string{"cheap", "smart", "coder"}
		if i%7 == 0 {
			cands = append(cands, "brand-new-model") // unknown to the router
		}
		if i%11 == 0 {
			cands = []string{"only-unknown"}
		}
		var id any = fmt.Sprintf("q-%04d", i)
		if i%5 == 0 {
			id = float64(i) // numeric ids are echoed as numbers
		}
		wantIDs = append(wantIDs, id)
		line, _ := json.Marshal(map[string]any{"id": id, "prompt": synthPrompt(rng, synthTopicNames[i%3]), "candidates": cands})
		in.Write(line)
		in.WriteString("\n")
		if i%50 == 0 {
			in.WriteString("   \n") // blank lines are skipped
		}
	}
	run := func(workers int) []byte {
		var out bytes.Buffer
		st, err := DecideJSONL(t.Context(), r, bytes.NewReader(in.Bytes()), &out, DecideOptions{Tradeoff: 0.5, Workers: workers})
		if err != nil {
			t.Fatalf("DecideJSONL: %v", err)
		}
		if st.Lines != 500 || st.Errors != 0 {
			t.Errorf("stats = %+v, want 500 lines, 0 errors", st)
		}
		return out.Bytes()
	}
	one, four := run(1), run(4)
	if !bytes.Equal(one, four) {
		t.Error("decisions differ between 1 and 4 workers")
	}
	ds := readDecisions(t, one)
	var gotIDs []any
	for i, d := range ds {
		gotIDs = append(gotIDs, d.ID)
		if d.Model == "" || d.Error != "" {
			t.Errorf("line %d: model %q, error %q", i+1, d.Model, d.Error)
		}
		if i%11 == 0 && d.Model != "only-unknown" {
			t.Errorf("line %d: chose %q, want the only candidate", i+1, d.Model)
		}
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("ids out of order (-want +got):\n%s", diff)
	}
}

func TestDecideJSONLBadLines(t *testing.T) {
	r := trainSynth(t, "lr", 200)
	good := `{"id": "a", "prompt": "a river", "candidates": ["cheap", "smart"]}`
	for _, tc := range []struct {
		name, line, want string
	}{
		{"bad json", `{"id": "b", "prompt": `, "line 2: invalid JSON"},
		{"not an object", `[1, 2]`, "line 2: invalid request"},
		{"missing id", `{"prompt": "x", "candidates": ["cheap"]}`, `line 2: "id" must be`},
		{"object id", `{"id": {"x": 1}, "prompt": "x", "candidates": ["cheap"]}`, `line 2: "id" must be`},
		{"missing prompt", `{"id": "b", "candidates": ["cheap"]}`, `line 2: missing "prompt"`},
		{"no candidates", `{"id": "b", "prompt": "x", "candidates": []}`, `line 2: "candidates" must list`},
		{"empty candidate", `{"id": "b", "prompt": "x", "candidates": ["cheap", ""]}`, "line 2: candidate 1 is an empty name"},
		{"candidates not strings", `{"id": "b", "prompt": "x", "candidates": [1]}`, "line 2: invalid request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good + "\n" + tc.line + "\n" + good + "\n"
			var out bytes.Buffer
			_, err := DecideJSONL(t.Context(), r, strings.NewReader(in), &out, DecideOptions{Tradeoff: 0.5})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecideJSONL error = %v, want one containing %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %q before failing; want nothing", out.String())
			}
			// With KeepGoing the bad line gets an error record in place.
			out.Reset()
			st, err := DecideJSONL(t.Context(), r, strings.NewReader(in), &out, DecideOptions{Tradeoff: 0.5, KeepGoing: true})
			if err != nil {
				t.Fatalf("DecideJSONL(KeepGoing): %v", err)
			}
			ds := readDecisions(t, out.Bytes())
			if len(ds) != 3 || st.Errors != 1 {
				t.Fatalf("KeepGoing wrote %d records with %d errors, want 3 and 1", len(ds), st.Errors)
			}
			if ds[0].Model == "" || ds[2].Model == "" || ds[1].Model != "" || !strings.Contains(ds[1].Error, tc.want) {
				t.Errorf("KeepGoing records = %+v; want the middle one to carry the error", ds)
			}
		})
	}
}

func TestDecideJSONLForms(t *testing.T) {
	r := trainSynth(t, "lr", 400)
	line := `{"id": 1, "prompt": "theorem integral matrix proof lemma vector", "candidates": ["cheap", "smart", "coder"]}` + "\n"
	decide := func(opts DecideOptions) string {
		var out bytes.Buffer
		if _, err := DecideJSONL(t.Context(), r, strings.NewReader(line), &out, opts); err != nil {
			t.Fatal(err)
		}
		return readDecisions(t, out.Bytes())[0].Model
	}
	floor, tiny, big := 0.95, 1e-12, 1.0
	if got := decide(DecideOptions{Floor: &floor}); got != "smart" {
		t.Errorf("floor 0.95 on a maths prompt chose %s, want smart", got)
	}
	if got := decide(DecideOptions{MaxCostUSD: &tiny}); got != "cheap" {
		t.Errorf("a cap below every cost chose %s, want the cheapest", got)
	}
	if got := decide(DecideOptions{MaxCostUSD: &big}); got != "smart" {
		t.Errorf("a generous cap chose %s, want the best predicted", got)
	}
	if got := decide(DecideOptions{Tradeoff: 0}); got != "cheap" {
		t.Errorf("tradeoff 0 chose %s, want cheap", got)
	}
}
