package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/octomesh/octomesh/internal/router/quality"
	"github.com/octomesh/octomesh/internal/router/quality/builtin"
)

const routerUsage = `usage: octomesh router <command> [flags]

commands:
  train    train a quality router on routing data and write the artifact
  eval     cross-validate a quality router on routing data and report
  decide   choose a model for each prompt of a JSONL file

Run "octomesh router <command> -h" for a command's flags.
`

// routerCmd dispatches the router subcommands.
func routerCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, routerUsage)
		return usageError{"router: no command given"}
	}
	switch args[0] {
	case "train":
		return routerTrain(ctx, args[1:], stdout, stderr)
	case "eval":
		return routerEval(ctx, args[1:], stdout, stderr)
	case "decide":
		return routerDecide(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, routerUsage)
		return nil
	}
	fmt.Fprint(stderr, routerUsage)
	return usageError{fmt.Sprintf("router: unknown command %q", args[0])}
}

// stringList is a repeatable flag that also splits on commas, so both
// --data a --data b and --data a,b work; positional arguments after the
// flags are appended by the caller.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// parseFlagsWithFiles parses flags and treats remaining positional
// arguments as more --data files (so "--data a.gz b.gz" works).
func parseFlagsWithFiles(fs interface {
	Parse([]string) error
	Args() []string
}, args []string, data *stringList) error {
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		pos := fs.Args()
		if len(pos) == 0 {
			return nil
		}
		// Take positional args up to the next flag, then keep parsing.
		i := 0
		for i < len(pos) && !strings.HasPrefix(pos[i], "-") {
			*data = append(*data, pos[i])
			i++
		}
		rest = pos[i:]
		if len(rest) == 0 {
			return nil
		}
	}
}

// progressBar draws a one-line progress bar on w, at most every 100 ms.
type progressBar struct {
	w     io.Writer
	last  time.Time
	start time.Time
	width int
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, start: time.Now(), width: 30}
}

func (p *progressBar) update(stage string, done float64) {
	now := time.Now()
	if done < 1 && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	done = min(1, max(0, done))
	n := int(done * float64(p.width))
	if len(stage) > 40 {
		stage = stage[:40]
	}
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %5.0fs %-40s", strings.Repeat("#", n), strings.Repeat(".", p.width-n), 100*done, now.Sub(p.start).Seconds(), stage)
}

func (p *progressBar) finish() { fmt.Fprintln(p.w) }

func routerTrainConfig(predictor, opts string) (quality.TrainConfig, error) {
	cfg := quality.DefaultTrainConfig()
	if predictor != "" {
		cfg.Predictor = predictor
	}
	if err := cfg.SetOptions(opts); err != nil {
		return cfg, usageError{err.Error()}
	}
	return cfg, nil
}

func routerEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("router eval", stderr)
	var data stringList
	fs.Var(&data, "data", "routing data file (JSONL, optionally gzipped); repeatable")
	folds := fs.Int("folds", 5, "cross-validation folds")
	plot := fs.String("plot", "", "write an SVG plot of the cost–quality curves to this file")
	predictor := fs.String("predictor", "", "predictor: lr, lowrank, knn, components joined by + (lr+lowrank), or ensemble (all three); default lr, the shipped router's")
	opts := fs.String("set", "", "advanced training options, key=value,… (e.g. lr.epochs=8)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlagsWithFiles(fs, args, &data); err != nil {
		return usageError{err.Error()}
	}
	if len(data) == 0 {
		return usageError{"router eval: --data is required"}
	}
	cfg, err := routerTrainConfig(*predictor, *opts)
	if err != nil {
		return err
	}
	files, err := quality.LoadFiles(data)
	if err != nil {
		return err
	}
	var progress quality.Progress
	if !*quiet {
		bar := newProgressBar(stderr)
		progress = bar.update
		defer bar.finish()
	}
	ev, err := quality.CrossValidate(ctx, files, quality.EvalConfig{Folds: *folds, Train: cfg, Steps: 101}, progress)
	if err != nil {
		return err
	}
	if err := ev.WriteText(stdout); err != nil {
		return err
	}
	if *plot != "" {
		f, err := os.Create(*plot)
		if err != nil {
			return err
		}
		if err := ev.WriteSVG(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

func routerTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("router train", stderr)
	var data stringList
	fs.Var(&data, "data", "routing data file (JSONL, optionally gzipped); repeatable")
	out := fs.String("out", "", "write the router artifact to this file")
	predictor := fs.String("predictor", "", "predictor: lr, lowrank, knn, components joined by + (lr+lowrank), or ensemble (all three); default lr, the shipped router's")
	opts := fs.String("set", "", "advanced training options, key=value,… (e.g. lr.epochs=8)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlagsWithFiles(fs, args, &data); err != nil {
		return usageError{err.Error()}
	}
	if len(data) == 0 || *out == "" {
		return usageError{"router train: --data and --out are required"}
	}
	cfg, err := routerTrainConfig(*predictor, *opts)
	if err != nil {
		return err
	}
	files, err := quality.LoadFiles(data)
	if err != nil {
		return err
	}
	var examples []quality.Example
	for _, f := range files {
		examples = append(examples, f.Examples...)
	}
	start := time.Now()
	var progress quality.Progress
	var bar *progressBar
	if !*quiet {
		bar = newProgressBar(stderr)
		progress = bar.update
	}
	r, err := quality.Train(ctx, examples, cfg, progress)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		return err
	}
	size, err := writeFileAtomic(*out, r.Save)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained a %s router on %d prompts from %d files (%d models) in %s; wrote %s (%.2f MB)\n",
		cfg.Predictor, len(examples), len(files), len(r.Models()), time.Since(start).Round(time.Millisecond), *out, float64(size)/(1<<20))
	return nil
}

// writeFileAtomic writes path via a temporary file in the same directory
// and a rename, so readers never see a partial artifact. It returns the
// number of bytes written.
func writeFileAtomic(path string, write func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	cw := &countingWriter{w: bufio.NewWriterSize(tmp, 1<<20)}
	if err := write(cw); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := cw.w.(*bufio.Writer).Flush(); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes 0600; artifacts and outputs are ordinary files
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	return cw.n, os.Rename(tmp.Name(), path)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func routerDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("router decide", stderr)
	model := fs.String("model", "", "router artifact (default: the router built into this binary)")
	in := fs.String("in", "", `input JSONL: {"id", "prompt", "candidates": [...]} per line ("-" or empty: stdin)`)
	out := fs.String("out", "", `output JSONL: {"id", "model"} per input line, in order ("-" or empty: stdout)`)
	tradeoff := fs.Float64("tradeoff", 0.5, "0 = cheapest acceptable model … 1 = best predicted quality")
	floor := fs.Float64("floor", -1, "instead of --tradeoff: cheapest model predicted at least this fraction of the best (e.g. 0.95)")
	maxCost := fs.Float64("max-cost", -1, "instead of --tradeoff: best predicted model whose expected cost is at most this many USD")
	keepGoing := fs.Bool("keep-going", false, `write {"id", "model": "", "error"} for a bad line instead of failing`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := quality.DecideOptions{Tradeoff: *tradeoff, KeepGoing: *keepGoing}
	if *tradeoff < 0 || *tradeoff > 1 {
		return usageError{"router decide: --tradeoff must be in [0,1]"}
	}
	if *floor >= 0 {
		if *floor > 1 {
			return usageError{"router decide: --floor must be in [0,1]"}
		}
		opts.Floor = floor
	}
	if *maxCost >= 0 {
		opts.MaxCostUSD = maxCost
	}
	if opts.Floor != nil && opts.MaxCostUSD != nil {
		return usageError{"router decide: --floor and --max-cost are exclusive"}
	}
	r, err := loadRouter(*model)
	if err != nil {
		return err
	}
	var src io.Reader = os.Stdin
	if *in != "" && *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	write := func(w io.Writer) error {
		st, err := quality.DecideJSONL(ctx, r, src, w, opts)
		if err != nil {
			return err
		}
		if st.Errors > 0 {
			fmt.Fprintf(stderr, "router decide: %d bad lines (see their \"error\" fields)\n", st.Errors)
		}
		return nil
	}
	if *out == "" || *out == "-" {
		return write(stdout)
	}
	_, err = writeFileAtomic(*out, write)
	return err
}

// loadRouter loads the artifact at path, or the built-in router.
func loadRouter(path string) (*quality.Router, error) {
	if path == "" {
		return builtin.Router()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := quality.Load(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
