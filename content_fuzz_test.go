package octomesh

import (
	"encoding/json"
	"testing"
)

// contentStringReference is Content.UnmarshalJSON's string case as it was
// before plainString: encoding/json all the way.
func contentStringReference(b []byte) (Content, error) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Content{}, err
	}
	return TextContent(s), nil
}

var contentStringSeeds = []string{
	`""`, `"hello"`, `"héllo wörld ✓ 😀"`, `"tab\there"`, `"quote \" inside"`, `"back\\slash"`,
	`"\u00e9\u2713"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00 lone low"`, `"\ud83d\u0041"`, "\"raw\ttab\"",
	"\"bad \xff utf8\"", "\"cut \xe2\x9c\"", "\"overlong \xc0\xaf\"", "\"surrogate \xed\xa0\x80\"", "\"del \x7f\"",
	`"\/"`, `"\b\f\n\r"`, `"\x"`, `"unterminated`, `"`, ` "space before"`, `"space after" `, `"a" "b"`, `"\u12"`,
	"\"nul \x00\"",
}

// TestContentString checks the string case of Content.UnmarshalJSON
// against encoding/json on escapes, surrogates and invalid UTF-8.
func TestContentString(t *testing.T) {
	for _, in := range contentStringSeeds {
		checkContentString(t, []byte(in))
	}
}

// FuzzContentString is TestContentString on any input that starts as a
// string.
func FuzzContentString(f *testing.F) {
	for _, in := range contentStringSeeds {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if firstByte(b) != '"' {
			return
		}
		checkContentString(t, b)
	})
}

func checkContentString(t *testing.T, b []byte) {
	t.Helper()
	want, wantErr := contentStringReference(b)
	var got Content
	err := got.UnmarshalJSON(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("UnmarshalJSON(%q): err = %v, encoding/json: %v", b, err, wantErr)
	}
	if err != nil {
		return
	}
	if got.Array || len(got.Parts) != 1 || got.Parts[0] != want.Parts[0] {
		t.Fatalf("UnmarshalJSON(%q) = %+v, encoding/json: %+v", b, got, want)
	}
}
