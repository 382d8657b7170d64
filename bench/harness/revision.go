package harness

import (
	"debug/buildinfo"
)

// Revision is the source an octomesh binary was built from, read from the
// build information the go command stamps into it: a run's figures belong
// to a commit, and --bin may measure any binary.
type Revision struct {
	Commit   string `json:"commit,omitempty"`   // vcs.revision; empty when not stamped (-buildvcs=false, go run)
	Modified bool   `json:"modified,omitempty"` // built with uncommitted changes
}

// binaryRevision reads path's VCS stamp; a binary without one (or that
// cannot be read) gives the zero Revision.
func binaryRevision(path string) Revision {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return Revision{}
	}
	var r Revision
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			r.Commit = s.Value
		case "vcs.modified":
			r.Modified = s.Value == "true"
		}
	}
	return r
}

// String is the commit, shortened, marked when the tree had changes.
func (r Revision) String() string {
	if r.Commit == "" {
		return "an unstamped build (no VCS revision)"
	}
	s := "commit " + r.Commit[:min(len(r.Commit), 12)]
	if r.Modified {
		s += " with uncommitted changes"
	}
	return s
}
