package h1

import (
	"go/build"
	"os"
	"strings"
	"testing"
)

// rawRead is a raw system call only where that is sound: linux, outside
// the race detector. Elsewhere syscall.RawSyscall is no such thing: on
// OpenBSD (7.5 and later forbid indirect system calls) it returns ENOSYS
// for every call, which would fail every wait on a plain TCP connection,
// and solaris, illumos and aix have no syscall.SYS_READ to build with.
// Every unix gets exactly one rawRead.
func TestRawReadIsARawSyscallOnlyOnLinux(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	type file struct {
		name      string
		defines   bool // defines rawRead
		rawSyscal bool // calls syscall.RawSyscall
	}
	var files []file
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		files = append(files, file{name, strings.Contains(s, "func rawRead("), strings.Contains(s, "syscall.RawSyscall")})
	}
	targets := []struct{ goos, goarch string }{
		{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "arm64"}, {"freebsd", "amd64"},
		{"netbsd", "amd64"}, {"openbsd", "amd64"}, {"openbsd", "arm64"}, {"dragonfly", "amd64"},
		{"solaris", "amd64"}, {"illumos", "amd64"}, {"aix", "ppc64"},
	}
	for _, tg := range targets {
		for _, race := range []bool{false, true} {
			ctx := build.Default
			ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = tg.goos, tg.goarch, false
			ctx.BuildTags = nil
			if race {
				ctx.BuildTags = []string{"race"}
			}
			defs := 0
			for _, f := range files {
				ok, err := ctx.MatchFile(".", f.name)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					continue
				}
				if f.defines {
					defs++
				}
				if f.rawSyscal && (tg.goos != "linux" || race) {
					t.Errorf("%s/%s race=%v builds %s, a raw system call", tg.goos, tg.goarch, race, f.name)
				}
			}
			if defs != 1 {
				t.Errorf("%s/%s race=%v: %d definitions of rawRead, want 1", tg.goos, tg.goarch, race, defs)
			}
		}
	}
}
