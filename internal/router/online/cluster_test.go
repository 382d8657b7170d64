package online

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/internal/router/quality"
)

// The prompt clusters live in internal/router/quality (cluster.go); they
// are tested here, beside their one user, so that package gains one file.

// kindOf is the kind part of a cluster id (see quality.Cluster).
func kindOf(id int) int { return (id - 1) / 8 }

func TestClusterGroupsSimilarPrompts(t *testing.T) {
	groups := [][]string{
		{
			"Compute 17 plus 25 and explain each step of the addition.",
			"Compute 33 plus 48 and explain each step of the addition.",
			"compute 905 plus 1 and explain each step of the addition",
		},
		{
			"Which of these is a mammal?\nA. shark\nB. dolphin\nC. trout\nD. eel\nAnswer:",
			"Which of these is a mammal?\nA. salmon\nB. whale\nC. tuna\nD. cod\nAnswer:",
			"Which of these is a mammal?\n(A) snake\n(B) bat\n(C) frog\n(D) newt\nAnswer:",
		},
		{
			"```go\nfunc add(a, b int) int { return a + b }\n```\nWhy does this not compile?",
			"```go\nfunc sub(a, b int) int { return a - b }\n```\nWhy does this not compile?",
		},
	}
	seen := map[int]int{}
	for g, ps := range groups {
		want := quality.Cluster(ps[0])
		for _, p := range ps[1:] {
			if got := quality.Cluster(p); got != want {
				t.Errorf("group %d: Cluster(%q) = %d, want %d like %q", g, p, got, want, ps[0])
			}
		}
		if h, dup := seen[want]; dup {
			t.Errorf("groups %d and %d share cluster %d", h, g, want)
		}
		seen[want] = g
	}
}

func TestClusterKinds(t *testing.T) {
	long := strings.Repeat("The committee reviewed the annual report and its appendices in detail. ", 80)
	for _, tt := range []struct {
		name, prompt string
		kind         int
	}{
		{"code fence", "Fix this:\n```\nx = 1\n```", 0},
		{"braces and semicolons", "int main() { int x = 0; x++; return x; }", 0},
		{"multiple choice", "Pick one.\nA) red\nB) green\nC) blue", 1},
		{"latex", "Simplify $\\frac{a}{b} + \\frac{c}{d}$.", 2},
		{"arithmetic", "12*7 = ? and 144/12 = ? and 3^4 = ?", 2},
		{"long document", long + "Summarise the report.", 3},
		{"another script", "東京の天気はどうですか。明日は雨が降りますか。", 4},
		{"structured", "name,age\nann,31\nbob,42\ncid,28\ndee,35\neve,22\nfay,40\ngus,51\nhal,19", 5},
		{"question", "Why is the sky blue?", 6},
		{"chat", "Write a haiku about autumn leaves.", 7},
		{"empty", "", 7},
	} {
		id := quality.Cluster(tt.prompt)
		if id < 1 || id > quality.NumClusters {
			t.Errorf("%s: id %d out of [1,%d]", tt.name, id, quality.NumClusters)
		}
		if got := kindOf(id); got != tt.kind {
			t.Errorf("%s: kind %d, want %d", tt.name, got, tt.kind)
		}
	}
	if quality.NumClusters != 64 {
		t.Errorf("NumClusters = %d, want 64", quality.NumClusters)
	}
}

// TestClusterReadsABoundedWindow: only the first 256 and the last 768
// bytes of a long prompt matter.
func TestClusterReadsABoundedWindow(t *testing.T) {
	head := strings.Repeat("alpha beta gamma delta ", 30)[:256]
	tail := strings.Repeat("omega sigma theta kappa ", 80)[:768]
	a := head + strings.Repeat("zzzz yyyy xxxx ", 1000) + tail
	b := head + strings.Repeat("qqqq pppp rrrr ", 2000) + tail
	if quality.Cluster(a) != quality.Cluster(b) {
		t.Errorf("prompts differing only in the unread middle got clusters %d and %d", quality.Cluster(a), quality.Cluster(b))
	}
}

func TestClusterDomains(t *testing.T) {
	for _, tt := range []struct {
		prompt string
		domain int
	}{
		{"Say something nice.", 0},
		{"Explain how photosynthesis lets plants turn light into chemical energy.", 1},
		{"My patient has chronic pain and poor sleep; which treatment helps?", 2},
		{"Summarise the history of the Roman empire and its treaty with Carthage.", 3},
		{"Draft a pricing strategy that grows revenue for a startup's customers.", 4},
		{"How do I make this SQL query on the database server return faster?", 5},
		{"Write a haiku about autumn, then a short story with the same title.", 6},
		{"Solve the equation and give the probability as a fraction.", 7},
	} {
		id := quality.Cluster(tt.prompt)
		if got := (id - 1) % 8; got != tt.domain {
			t.Errorf("Cluster(%q) = %d: domain %d, want %d", tt.prompt, id, got, tt.domain)
		}
	}
}

// TestClusterTemplateSlots: a template's variable words (names, numbers,
// products) rarely move its prompts to another cluster.
func TestClusterTemplateSlots(t *testing.T) {
	ids := map[int]int{}
	for _, name := range []string{"Alice", "Bob", "Chen", "Dmitri", "Esperanza", "Farouk", "Greta", "Hiroshi"} {
		for _, item := range []string{"laptop", "kettle", "bicycle", "sofa", "camera"} {
			ids[quality.Cluster(fmt.Sprintf("Write a polite email to %s explaining that the %s they ordered will arrive late.", name, item))]++
		}
	}
	if len(ids) != 1 {
		t.Errorf("40 prompts of one template fell into %d clusters: %v", len(ids), ids)
	}
}

// TestLearnerKeepsNoPromptText: after clustering prompts that hold a
// canary and recording feedback, nothing the learner can show or holds in
// a string contains the canary.
func TestLearnerKeepsNoPromptText(t *testing.T) {
	const canary = "zqxcanary7731"
	l := newLearner(t, Config{Clusters: quality.NumClusters + 1, Cluster: quality.Cluster, Rand: seeded(5)})
	for i := range 50 {
		prompt := fmt.Sprintf("Tell me about %s number %d, the %s of the season. %s?", canary, i, canary, canary)
		k := l.Cluster(prompt)
		q := []float64{0.5, 0.5}
		l.Blend(k, []string{"cheap", "mid"}, q)
		l.Explore(k, []Candidate{{"cheap", 1}, {"mid", 2}}, 0, false)
		if _, err := l.Observe(k, "cheap", 0, "off_topic"); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(l.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), canary) || !strings.Contains(string(b), `"off_topic"`) {
		t.Errorf("snapshot holds the canary, or lacks the label: %s", b)
	}
	// Every string the learner holds, anywhere: the model names and the
	// labels, nothing else.
	var held []string
	held = append(held, l.models...)
	for m := range l.index {
		held = append(held, m)
	}
	l.labelMu.Lock()
	for k := range l.labels {
		held = append(held, k.label)
	}
	l.labelMu.Unlock()
	for _, s := range held {
		if strings.Contains(s, canary) {
			t.Errorf("the learner holds %q", s)
		}
	}
	if dump := fmt.Sprintf("%+v %+v %+v %+v", l.cfg, l.models, l.cells, l.labels); strings.Contains(dump, canary) {
		t.Errorf("the learner's dump holds the canary")
	}
}

func BenchmarkCluster2KB(b *testing.B) {
	base := "Which of the following statements best explains why magnets usually stick to a refrigerator door?\nA) The refrigerator door is smooth.\nB) The refrigerator door contains iron.\nC) The refrigerator door is a good conductor.\nD) The refrigerator door has electric wires in it.\nAnswer: B\n\n"
	p := strings.Repeat(base, 2048/len(base)+1)[:2048]
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		quality.Cluster(p)
	}
}

func BenchmarkCluster100KB(b *testing.B) {
	p := strings.Repeat("The committee reviewed the annual report and its appendices in detail. ", 1400)
	for b.Loop() {
		quality.Cluster(p)
	}
}
