// Package procstat reads a process's CPU time and memory from Linux's /proc:
// utime and stime from /proc/<pid>/stat, VmRSS and VmHWM (peak resident set
// size) from /proc/<pid>/status. A target made of several processes (nginx's
// master and workers) is measured as the tree rooted at its pid.
//
// Functions are safe for concurrent use; they only read /proc (ResetPeak
// writes the process's clear_refs).
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ClockTicks is USER_HZ, the unit of /proc/<pid>/stat times. The kernel
// fixes it at 100 on every architecture Go supports, whatever CONFIG_HZ is.
const ClockTicks = 100

// Sample is one reading of a process or a process tree.
type Sample struct {
	CPU   time.Duration // user + system CPU time consumed so far
	RSS   int64         // resident set size now, bytes
	HWM   int64         // peak resident set size (since start or ResetPeak), bytes
	Procs int           // processes summed
}

// Stat is what /proc/<pid>/stat says about a process.
type Stat struct {
	PPID         int
	UTime, STime uint64 // clock ticks
}

// ParseStat parses the contents of /proc/<pid>/stat. The command name (field
// 2) is in parentheses and may itself contain spaces and parentheses, so
// fields are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, errors.New("procstat: stat has no command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return Stat{}, fmt.Errorf("procstat: stat has %d fields after the command, want ≥ 13", len(f))
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	ut, err2 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err3 := strconv.ParseUint(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Stat{}, fmt.Errorf("procstat: stat: %w", err)
	}
	return Stat{PPID: ppid, UTime: ut, STime: st}, nil
}

// ParseStatus returns VmRSS and VmHWM, in bytes, from the contents of
// /proc/<pid>/status. A kernel thread or zombie has neither: both are 0.
func ParseStatus(b []byte) (rss, hwm int64, err error) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &hwm
		default:
			continue
		}
		f := bytes.Fields(value)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, 0, fmt.Errorf("procstat: status: malformed %s line %q", name, line)
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("procstat: status: %s: %w", name, err)
		}
		*dst = n << 10
	}
	return rss, hwm, nil
}

// Read samples one process.
func Read(pid int) (Sample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Sample{}, err
	}
	st, err := ParseStat(b)
	if err != nil {
		return Sample{}, err
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Sample{}, err
	}
	rss, hwm, err := ParseStatus(b)
	if err != nil {
		return Sample{}, err
	}
	return Sample{CPU: ticks(st.UTime + st.STime), RSS: rss, HWM: hwm, Procs: 1}, nil
}

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / ClockTicks }

// Tree returns pid and all its descendants, found by scanning /proc.
func Tree(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		st, err := ParseStat(b)
		if err != nil {
			continue
		}
		children[st.PPID] = append(children[st.PPID], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// ReadTree samples pid and its descendants, summing CPU, RSS and HWM. (The
// sum of the processes' peaks bounds the tree's peak from above; for a
// single process it is exact.) Processes that exit during the scan are
// skipped; an error is returned only if pid itself cannot be read.
func ReadTree(pid int) (Sample, error) {
	pids, err := Tree(pid)
	if err != nil {
		return Sample{}, err
	}
	var total Sample
	for i, p := range pids {
		s, err := Read(p)
		if err != nil {
			if i == 0 {
				return Sample{}, err
			}
			continue
		}
		total.CPU += s.CPU
		total.RSS += s.RSS
		total.HWM += s.HWM
		total.Procs++
	}
	return total, nil
}

// ResetPeak resets the peak RSS (VmHWM) of pid and its descendants to their
// current RSS, by writing "5" to /proc/<pid>/clear_refs (Linux ≥ 4.0). It
// needs the right to write that file: the process's owner or root.
func ResetPeak(pid int) error {
	pids, err := Tree(pid)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pids {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p), []byte("5"), 0); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
