package jsonw

import (
	"encoding/json"
	"testing"
)

// FuzzAppendUnescaped: for every JSON string encoding/json accepts, the
// shared unescaper gives its exact result, and EscapeLen accepts every
// escape in it.
func FuzzAppendUnescaped(f *testing.F) {
	for _, s := range []string{`plain`, `a\nb\t\"c\\`, `\u00e9\ud83d\ude00`, `\ud83d x`, `\udc00\ud800`, "caf\xc3\xa9 \xff", `\/`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want string
		if json.Unmarshal([]byte(`"`+s+`"`), &want) != nil {
			return
		}
		raw := []byte(s)
		for i := 0; i < len(raw); i++ {
			if raw[i] == '\\' {
				n := EscapeLen(raw[i:])
				if n == 0 {
					t.Fatalf("EscapeLen refused an escape encoding/json accepts in %q", s)
				}
				i += n - 1
			}
		}
		if got := string(AppendUnescaped([]byte("x"), raw)); got != "x"+want {
			t.Fatalf("AppendUnescaped(%q) = %q, want %q", s, got[1:], want)
		}
	})
}
