package harness

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A report names the commit its binary was built from, read from the
// binary itself, so figures made with --bin are tied to their source.
func TestReportNamesTheBinarysCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\ngo 1.21\n"), 0o600)
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("git %v: %v %s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "x")
	head, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "x")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	rev := binaryRevision(bin)
	if want := strings.TrimSpace(string(head)); rev.Commit != want || rev.Modified {
		t.Fatalf("revision %+v, want commit %s unmodified", rev, want)
	}
	r := &Report{Command: "octomesh bench", Binary: rev}
	var b bytes.Buffer
	r.header(&b)
	if !strings.Contains(b.String(), "the binary was built from commit "+rev.Commit[:12]) {
		t.Errorf("header %q does not name the commit", b.String())
	}
	if got := binaryRevision(src); got != (Revision{}) {
		t.Errorf("a file that is not a Go binary: %+v, want the zero revision", got)
	}
}
