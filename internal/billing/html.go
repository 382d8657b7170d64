package billing

import (
	_ "embed"
	"html/template"
	"io"
	"strconv"
	"time"
)

//go:embed statement.html
var statementHTML string

// statementPage is the printable statement: one self-contained page (inline
// CSS, no scripts, no external assets) with print styles. html/template
// escapes every value, so an organisation named "<script>" prints as text.
var statementPage = template.Must(template.New("statement").Funcs(template.FuncMap{
	"date":     func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"lastDay":  func(end time.Time) string { return end.UTC().AddDate(0, 0, -1).Format("2 January 2006") },
	"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"count":    groupThousands,
}).Parse(statementHTML))

// WriteHTML renders st as a printable HTML page.
func (st *Statement) WriteHTML(w io.Writer) error {
	return statementPage.Execute(w, st)
}

// groupThousands formats n with thin separators: 1234567 → "1,234,567".
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
