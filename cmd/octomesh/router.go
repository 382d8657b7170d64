package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/octomesh/octomesh/internal/router/quality"
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
	predictor := fs.String("predictor", "", "predictor: lr, lowrank, knn or ensemble (default: the shipped router's)")
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
	return fmt.Errorf("not yet")
}

func routerDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("not yet")
}
