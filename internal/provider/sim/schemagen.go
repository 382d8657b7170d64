package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Generator limits: beyond shallowDepth only required properties and
// minItems elements are produced, so recursive schemas terminate; a schema
// that still recurses past maxGenDepth, or whose instance would exceed
// maxGenBytes, is unusable.
const (
	shallowDepth = 4
	maxGenDepth  = 32
	maxGenBytes  = 256 << 10
)

// generateJSON returns a JSON document valid against the schema s (parsed
// from root, which its $refs point into), drawn from r. kws are prompt
// keywords used for query-like strings. It returns an error wrapping
// errSchema when the generator cannot satisfy the schema.
func generateJSON(r *rand.Rand, s *schema, root json.RawMessage, kws []string) (string, error) {
	g := &gen{r: r, res: resolver{root: root}, kws: kws}
	if err := g.value(s, "", 0); err != nil {
		return "", err
	}
	return g.buf.String(), nil
}

type gen struct {
	r   *rand.Rand
	res resolver
	kws []string
	buf bytes.Buffer
}

func (g *gen) value(s *schema, name string, depth int) error {
	if depth > maxGenDepth {
		return fmt.Errorf("%w: recursion too deep", errSchema)
	}
	if g.buf.Len() > maxGenBytes {
		return fmt.Errorf("%w: instance too large", errSchema)
	}
	switch {
	case s.never:
		return fmt.Errorf("%w: a false schema admits no value", errSchema)
	case s.ref != "":
		t, err := g.res.resolve(s.ref)
		if err != nil {
			return err
		}
		return g.value(t, name, depth+1)
	case len(s.allOf) > 0:
		m, err := g.merge(s)
		if err != nil {
			return err
		}
		return g.value(m, name, depth+1)
	case s.constVal != nil:
		return g.raw(s.constVal)
	case len(s.enum) > 0:
		return g.raw(s.enum[g.r.IntN(len(s.enum))])
	case len(s.anyOf) > 0:
		return g.value(g.branch(s.anyOf), name, depth+1)
	case len(s.oneOf) > 0:
		return g.value(g.branch(s.oneOf), name, depth+1)
	}
	switch g.typeOf(s) {
	case "null":
		g.buf.WriteString("null")
	case "boolean":
		g.buf.WriteString(strconv.FormatBool(g.r.IntN(2) == 0))
	case "integer":
		g.buf.WriteString(strconv.FormatInt(g.integer(s, name), 10))
	case "number":
		g.buf.WriteString(strconv.FormatFloat(g.number(s, name), 'f', -1, 64))
	case "object":
		return g.object(s, depth)
	case "array":
		return g.array(s, name, depth)
	default:
		writeJSONString(&g.buf, g.str(s, name))
	}
	return nil
}

func (g *gen) raw(v json.RawMessage) error {
	if err := json.Compact(&g.buf, v); err != nil {
		return fmt.Errorf("%w: %v", errSchema, err)
	}
	return nil
}

// branch picks an anyOf/oneOf alternative, preferring non-null ones.
func (g *gen) branch(alts []*schema) *schema {
	var nonNull []*schema
	for _, a := range alts {
		if !(len(a.types) == 1 && a.types[0] == "null") && !a.never {
			nonNull = append(nonNull, a)
		}
	}
	if len(nonNull) == 0 {
		return alts[0]
	}
	return nonNull[g.r.IntN(len(nonNull))]
}

// typeOf picks the instance type: one of the declared non-null types, or
// one inferred from the keywords present.
func (g *gen) typeOf(s *schema) string {
	var ts []string
	for _, t := range s.types {
		if t != "null" {
			ts = append(ts, t)
		}
	}
	switch {
	case len(ts) > 0:
		return ts[g.r.IntN(len(ts))]
	case len(s.types) > 0:
		return "null"
	case s.props != nil || s.addl != nil || s.required != nil:
		return "object"
	case s.items != nil || s.prefixItems != nil:
		return "array"
	case s.minimum != nil || s.maximum != nil || s.multipleOf > 0:
		return "number"
	}
	return "string"
}

func (g *gen) object(s *schema, depth int) error {
	g.buf.WriteByte('{')
	n := 0
	key := func(k string) {
		if n > 0 {
			g.buf.WriteByte(',')
		}
		n++
		writeJSONString(&g.buf, k)
		g.buf.WriteByte(':')
	}
	declared := map[string]bool{}
	for _, p := range s.props {
		declared[p.name] = true
		if p.schema.never || !s.required[p.name] && (depth >= shallowDepth || g.r.Float64() >= 0.6) {
			continue
		}
		key(p.name)
		if err := g.value(p.schema, p.name, depth+1); err != nil {
			return err
		}
	}
	var undeclared []string
	for r := range s.required {
		if !declared[r] {
			undeclared = append(undeclared, r)
		}
	}
	slices.Sort(undeclared)
	for _, r := range undeclared {
		key(r)
		v := s.addl
		if v == nil {
			v = &schema{maxItems: -1, maxLength: -1}
		}
		if err := g.value(v, r, depth+1); err != nil {
			return err
		}
	}
	if len(s.props) == 0 && s.addl != nil && depth < shallowDepth {
		for i := range 1 + g.r.IntN(2) {
			key(fmt.Sprintf("item_%d", i+1))
			if err := g.value(s.addl, "", depth+1); err != nil {
				return err
			}
		}
	}
	g.buf.WriteByte('}')
	return nil
}

func (g *gen) array(s *schema, name string, depth int) error {
	n := s.minItems
	if depth < shallowDepth {
		n = max(s.minItems, 1+g.r.IntN(3))
	}
	if s.maxItems >= 0 {
		n = min(n, s.maxItems)
	}
	items := s.items
	if items == nil {
		items = &schema{maxItems: -1, maxLength: -1}
	}
	g.buf.WriteByte('[')
	var seen []string
	for i := 0; i < n; i++ {
		it := items
		if i < len(s.prefixItems) {
			it = s.prefixItems[i]
		}
		for try := 0; ; try++ {
			start := g.buf.Len()
			if i > 0 {
				g.buf.WriteByte(',')
			}
			if err := g.value(it, singular(name), depth+1); err != nil {
				return err
			}
			el := string(g.buf.Bytes()[start:])
			el = strings.TrimPrefix(el, ",")
			if !s.uniqueItems || !slices.Contains(seen, el) {
				seen = append(seen, el)
				break
			}
			g.buf.Truncate(start)
			if try == 8 {
				return fmt.Errorf("%w: cannot produce %d unique items", errSchema, s.minItems)
			}
		}
	}
	g.buf.WriteByte(']')
	return nil
}

// integer draws an integer within the schema's bounds and multipleOf, from
// a range suggested by the property name when the schema leaves it open.
func (g *gen) integer(s *schema, name string) int64 {
	lo, hi := math.Inf(-1), math.Inf(1)
	if s.minimum != nil {
		lo = math.Ceil(*s.minimum)
		if s.exclMin && lo == *s.minimum {
			lo++
		}
	}
	if s.maximum != nil {
		hi = math.Floor(*s.maximum)
		if s.exclMax && hi == *s.maximum {
			hi--
		}
	}
	lo, hi = interval(name, lo, hi)
	if m := s.multipleOf; m > 0 && m == math.Trunc(m) {
		klo, khi := math.Ceil(lo/m), math.Floor(hi/m)
		if klo <= khi {
			return int64(klo+float64(g.r.Int64N(int64(khi-klo)+1))) * int64(m)
		}
	}
	if lo >= hi {
		return int64(lo)
	}
	return int64(lo) + g.r.Int64N(int64(hi-lo)+1)
}

// number draws a number within the schema's bounds, with two decimals (or
// a multiple of multipleOf).
func (g *gen) number(s *schema, name string) float64 {
	lo, hi := math.Inf(-1), math.Inf(1)
	if s.minimum != nil {
		lo = *s.minimum
	}
	if s.maximum != nil {
		hi = *s.maximum
	}
	lo, hi = interval(name, lo, hi)
	ok := func(v float64) bool {
		return v >= lo && v <= hi && !(s.exclMin && s.minimum != nil && v <= *s.minimum) && !(s.exclMax && s.maximum != nil && v >= *s.maximum)
	}
	if m := s.multipleOf; m > 0 {
		klo, khi := math.Ceil(lo/m), math.Floor(hi/m)
		for k := klo + float64(g.r.IntN(int(min(max(khi-klo, 0), 1000))+1)); k <= khi; k++ {
			if v := roundTo(k*m, decimals(m)); ok(v) {
				return v
			}
		}
		return roundTo(klo*m, decimals(m))
	}
	v := math.Round((lo+g.r.Float64()*(hi-lo))*100) / 100
	if !ok(v) {
		v = (lo + hi) / 2
	}
	return v
}

// maxSpan bounds the range numbers are drawn from.
const maxSpan = 1e12

// interval returns the range to draw a number named name from: its natural
// range (hintRange) clipped to the schema's [lo, hi] (either may be
// infinite), or the schema's range when the two do not overlap.
func interval(name string, lo, hi float64) (float64, float64) {
	hlo, hhi := hintRange(name)
	if a, b := max(hlo, lo), min(hhi, hi); a <= b {
		return a, b
	}
	switch {
	case math.IsInf(lo, -1):
		return hi - 100, hi
	case math.IsInf(hi, 1):
		return lo, lo + 100
	}
	return lo, min(hi, lo+maxSpan)
}

// hintRange is the natural range of a number named name.
func hintRange(name string) (lo, hi float64) {
	n := strings.ToLower(name)
	switch {
	case n == "age" || strings.HasSuffix(n, "_age") || strings.HasSuffix(name, "Age"):
		return 18, 90
	case strings.Contains(n, "year"):
		return 1990, 2030
	case strings.Contains(n, "count") || strings.Contains(n, "quantity") || strings.Contains(n, "limit") || strings.HasPrefix(n, "num"):
		return 1, 10
	case strings.Contains(n, "confidence") || strings.Contains(n, "score") || strings.Contains(n, "probability"):
		return 0, 1
	case n == "lat" || strings.Contains(n, "latitude"):
		return -90, 90
	case n == "lon" || n == "lng" || strings.Contains(n, "longitude"):
		return -180, 180
	}
	return 0, 100
}

func decimals(m float64) int {
	s := strconv.FormatFloat(m, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func roundTo(v float64, d int) float64 {
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

// str draws a string for the schema and property name, honouring format
// and length bounds (pattern is not supported).
func (g *gen) str(s *schema, name string) string {
	v := g.formatted(s.format)
	if v == "" {
		v = g.named(name)
	}
	if n := utf8.RuneCountInString(v); n < s.minLength {
		pad := " lorem ipsum dolor sit amet"
		for utf8.RuneCountInString(v) < s.minLength {
			v += pad
		}
	}
	if s.maxLength >= 0 && utf8.RuneCountInString(v) > s.maxLength {
		v = string([]rune(v)[:s.maxLength])
	}
	return v
}

func (g *gen) formatted(format string) string {
	r := g.r
	switch format {
	case "date":
		return fmt.Sprintf("2024-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))
	case "date-time":
		return fmt.Sprintf("2024-%02d-%02dT%02d:%02d:00Z", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60))
	case "time":
		return fmt.Sprintf("%02d:%02d:00", r.IntN(24), r.IntN(60))
	case "email", "idn-email":
		return pick(r, firstNames) + "." + pick(r, lastNames) + "@example.com"
	case "uri", "url", "iri", "uri-reference", "iri-reference":
		return "https://example.com/" + strings.ToLower(pick(r, lastNames))
	case "uuid":
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	case "ipv4":
		return fmt.Sprintf("192.0.2.%d", 1+r.IntN(254))
	case "ipv6":
		return fmt.Sprintf("2001:db8::%x", 1+r.IntN(0xfffe))
	case "hostname", "idn-hostname":
		return "api.example.com"
	case "duration":
		return fmt.Sprintf("PT%dM", 1+r.IntN(59))
	}
	return ""
}

// Value banks for named strings. Read-only.
var (
	firstNames = []string{"alex", "sam", "maria", "li", "omar", "priya", "jonas", "emma"}
	lastNames  = []string{"morgan", "chen", "garcia", "okafor", "novak", "silva", "fischer", "tanaka"}
	cities     = []string{"Lisbon", "Toronto", "Nairobi", "Osaka", "Berlin", "Austin", "Melbourne", "Lyon"}
	countries  = []string{"Portugal", "Canada", "Kenya", "Japan", "Germany", "United States", "Australia", "France"}
	colours    = []string{"red", "green", "blue", "amber", "violet", "teal"}
)

// named draws a string suited to a property called name.
func (g *gen) named(name string) string {
	r := g.r
	n := strings.ToLower(name)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(n, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("email"):
		return g.formatted("email")
	case has("url", "link", "website", "href", "uri"):
		return g.formatted("uri")
	case has("phone"):
		return fmt.Sprintf("+1-555-01%02d", r.IntN(100))
	case has("first_name", "firstname", "given"):
		return title(pick(r, firstNames))
	case has("last_name", "lastname", "surname", "family"):
		return title(pick(r, lastNames))
	case has("company", "organization", "organisation", "vendor", "merchant"):
		return title(pick(r, lastNames)) + " Ltd"
	case has("city", "location", "place", "destination", "origin", "where"):
		var names []string // capitalised prompt keywords: likely places
		for _, k := range g.kws {
			if r0, _ := utf8.DecodeRuneInString(k); unicode.IsUpper(r0) {
				names = append(names, k)
			}
		}
		if len(names) > 0 {
			return pick(r, names)
		}
		return pick(r, cities)
	case has("country"):
		return pick(r, countries)
	case has("address", "street"):
		return fmt.Sprintf("%d Market Street", 1+r.IntN(200))
	case has("name"):
		return title(pick(r, firstNames)) + " " + title(pick(r, lastNames))
	case has("date", "day"):
		return g.formatted("date")
	case has("time"):
		return g.formatted("time")
	case n == "id" || strings.HasSuffix(n, "_id") || strings.HasSuffix(name, "Id") || strings.HasSuffix(name, "ID"):
		return fmt.Sprintf("id_%08x", r.Uint32())
	case has("currency"):
		return "USD"
	case has("lang", "locale"):
		return "en"
	case has("colour", "color"):
		return pick(r, colours)
	case has("unit"):
		return "celsius"
	case has("status", "state"):
		return pick(r, []string{"active", "pending", "done"})
	case has("query", "search", "keyword", "topic", "term", "tag", "subject", "category") || n == "q":
		if len(g.kws) > 0 {
			return g.kws[r.IntN(len(g.kws))]
		}
		return phrase(r, nil)
	case has("title", "heading"):
		return title(phrase(r, g.kws))
	case has("description", "summary", "text", "content", "message", "body", "answer", "reason", "explanation", "comment", "note", "detail"):
		return (&filler{r: r, kws: g.kws}).fill(pick(r, bodies[TaskChat]))
	}
	return phrase(r, g.kws)
}

// merge folds a schema's allOf members into one schema (properties and
// required are united; other keywords are taken from the first member that
// sets them).
func (g *gen) merge(s *schema) (*schema, error) {
	out := *s
	out.allOf = nil
	out.required = map[string]bool{}
	for k := range s.required {
		out.required[k] = true
	}
	out.props = slices.Clone(s.props)
	for _, m := range s.allOf {
		for m.ref != "" {
			t, err := g.res.resolve(m.ref)
			if err != nil {
				return nil, err
			}
			m = t
		}
		if len(m.allOf) > 0 {
			mm, err := g.merge(m)
			if err != nil {
				return nil, err
			}
			m = mm
		}
		if len(out.types) == 0 {
			out.types = m.types
		}
		for _, p := range m.props {
			if !slices.ContainsFunc(out.props, func(q property) bool { return q.name == p.name }) {
				out.props = append(out.props, p)
			}
		}
		for k := range m.required {
			out.required[k] = true
		}
		if out.enum == nil {
			out.enum = m.enum
		}
		if out.constVal == nil {
			out.constVal = m.constVal
		}
		if out.items == nil {
			out.items = m.items
		}
		if out.addl == nil {
			out.addl = m.addl
		}
		if out.minimum == nil {
			out.minimum, out.exclMin = m.minimum, m.exclMin
		}
		if out.maximum == nil {
			out.maximum, out.exclMax = m.maximum, m.exclMax
		}
		if out.format == "" {
			out.format = m.format
		}
		out.minLength = max(out.minLength, m.minLength)
		out.minItems = max(out.minItems, m.minItems)
		if out.maxLength < 0 {
			out.maxLength = m.maxLength
		}
		if out.maxItems < 0 {
			out.maxItems = m.maxItems
		}
		if out.anyOf == nil {
			out.anyOf = m.anyOf
		}
		if out.oneOf == nil {
			out.oneOf = m.oneOf
		}
	}
	return &out, nil
}

// singular guesses the element name of an array property ("tags" → "tag").
func singular(name string) string {
	if strings.HasSuffix(name, "ies") {
		return strings.TrimSuffix(name, "ies") + "y"
	}
	if strings.HasSuffix(name, "s") && !strings.HasSuffix(name, "ss") {
		return strings.TrimSuffix(name, "s")
	}
	return name
}

func title(s string) string {
	r, w := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[w:]
}

// writeJSONString writes s as a JSON string literal (without HTML escaping).
func writeJSONString(b *bytes.Buffer, s string) {
	const hexdig = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexdig[r>>4])
			b.WriteByte(hexdig[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
