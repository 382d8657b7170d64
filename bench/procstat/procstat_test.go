package procstat_test

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/octomesh/octomesh/bench/procstat"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want procstat.Stat
	}{
		{"plain", "1234 (octomesh) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 8 0 1000 0 0\n",
			procstat.Stat{PPID: 1, UTime: 250, STime: 37}},
		{"spaces and parens in comm", "77 (a) b (c)) R 42 77 77 0 -1 0 0 0 0 0 9 1 0 0 20 0 1 0 5 0 0",
			procstat.Stat{PPID: 42, UTime: 9, STime: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := procstat.ParseStat([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2 3"} {
		if _, err := procstat.ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q): no error", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\toctomesh\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t8\n"
	rss, hwm, err := procstat.ParseStatus([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if rss != 1024<<10 || hwm != 2048<<10 {
		t.Errorf("rss, hwm = %d, %d; want %d, %d", rss, hwm, 1024<<10, 2048<<10)
	}
	if _, _, err := procstat.ParseStatus([]byte("VmRSS:\t12 MB\n")); err == nil {
		t.Error("a unit other than kB: no error")
	}
}

// TestReadSelf reads the test process itself: its CPU time grows as it
// burns CPU, and its peak RSS grows past a large allocation it touches.
func TestReadSelf(t *testing.T) {
	pid := os.Getpid()
	before, err := procstat.Read(pid)
	if err != nil {
		t.Fatal(err)
	}
	if before.RSS <= 0 || before.HWM < before.RSS {
		t.Fatalf("RSS %d, HWM %d: want 0 < RSS ≤ HWM", before.RSS, before.HWM)
	}
	// Burn ~150ms of CPU.
	deadline := time.Now().Add(150 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	const size = 64 << 20
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, err := procstat.Read(pid)
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(buf)
	if d := after.CPU - before.CPU; d < 50*time.Millisecond {
		t.Errorf("CPU grew by %v after a 150ms busy loop, want ≥ 50ms", d)
	}
	if d := after.HWM - before.HWM; d < size/2 {
		t.Errorf("HWM grew by %d bytes after touching %d, want ≥ %d", d, size, size/2)
	}
}

func TestTreeFindsChild(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pids, err := procstat.Tree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pids {
		found = found || p == cmd.Process.Pid
	}
	if !found || pids[0] != os.Getpid() {
		t.Errorf("Tree(self) = %v, want self first and child %d in it", pids, cmd.Process.Pid)
	}
	s, err := procstat.ReadTree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.Procs < 2 {
		t.Errorf("ReadTree summed %d processes, want ≥ 2", s.Procs)
	}
}

func TestResetPeak(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := procstat.ResetPeak(cmd.Process.Pid); err != nil {
		t.Skipf("clear_refs not writable here: %v", err)
	}
	s, err := procstat.Read(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if s.HWM < s.RSS || s.HWM > s.RSS+(1<<20) {
		t.Errorf("after reset HWM = %d, RSS = %d: want HWM ≈ RSS", s.HWM, s.RSS)
	}
}
