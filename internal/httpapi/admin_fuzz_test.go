package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
)

// FuzzAdminDecoders feeds arbitrary bodies to every admin API decoder:
// none may panic, and every failure is a client error with a short,
// bounded message (values from the body are never echoed).
func FuzzAdminDecoders(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"name":"x"}`, `{"name":"x","owner":{"name":"o"}}`, `{"role":"owner"}`, `{"role":"root"}`,
		`{"name":"k","role":"member","expires_in":"720h","scopes":{"models":["a"],"rpm":-1}}`,
		`{"expires_at":null}`, `{"expires_at":"2030-01-01T00:00:00Z"}`, `{"expires_at":"yesterday"}`, `{"overlap":"1h"}`,
		`{"overlap":"-1s"}`, `{"overlap":"99999h"}`, `{"settings":{"regions":["eu"]}}`, `{"billing_email":5}`,
		`{"name":"x"}{"name":"y"}`, `{"unknown":1}`, "{\"name\":\"\u0000\"}", `{"name":"x","name":"y"}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		errs := []error{}
		_, err := decodeCreateOrg(body)
		errs = append(errs, err)
		_, err = decodeUpdateOrg(body)
		errs = append(errs, err)
		_, err = decodeBilling(body)
		errs = append(errs, err)
		_, err = decodeUser(body, true)
		errs = append(errs, err)
		_, err = decodeUser(body, false)
		errs = append(errs, err)
		_, err = decodeMember(body)
		errs = append(errs, err)
		_, _, err = decodeCreateKey(body, now)
		errs = append(errs, err)
		_, err = decodeUpdateKey(body, now)
		errs = append(errs, err)
		_, err = decodeRotate(body)
		errs = append(errs, err)
		errs = append(errs, decodeEmpty(body))
		for i, err := range errs {
			if err == nil {
				continue
			}
			if c := octomesh.ErrorCodeOf(err); c != octomesh.EINVALID {
				t.Fatalf("decoder %d: code %s for %q: %v", i, c, body, err)
			}
			msg := octomesh.ErrorMessage(err)
			if msg == "" || len(msg) > 300 || !utf8.ValidString(msg) {
				t.Fatalf("decoder %d: bad message %q", i, msg)
			}
		}
	})
}

// FuzzAuditQuery checks the audit list's query parsing never panics and
// only ever yields bounded filters.
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{"", "limit=10", "limit=0", "limit=99999999999999999999", "before=5", "since=2026-01-01T00:00:00Z", "since=x", "limit=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/v1/orgs/o/audit", nil)
		r.URL.RawQuery = q
		fl, err := parseAuditQuery(r.URL.Query(), "o")
		if err != nil {
			if octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
				t.Fatalf("code %v", err)
			}
			return
		}
		if fl.OrgID != "o" || fl.Limit < 0 || fl.Limit > 1000 || fl.Before < 0 {
			t.Fatalf("filter %+v from %q", fl, q)
		}
	})
}

// FuzzKeyFromRequest checks the API key extraction from the headers each
// SDK uses: no panic, no surrounding space, only a value the client sent,
// and nothing at all from an Authorization header with another scheme.
func FuzzKeyFromRequest(f *testing.F) {
	for _, s := range [][3]string{
		{"Bearer om_abc", "", ""}, {"bearer  om_abc ", "", ""}, {"Basic dXNlcjpwYXNz", "om_x", ""}, {"", "om_x", "om_y"},
		{"", "", " om_y "}, {"Bearer", "", ""}, {"Bearer ", "om_x", ""}, {"BEARER\tom_x", "", ""}, {"Token om_x", "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, auth, xAPIKey, goog string) {
		r := httptest.NewRequest("GET", "/v1/models", nil)
		for _, h := range [][2]string{{"Authorization", auth}, {"X-Api-Key", xAPIKey}, {"X-Goog-Api-Key", goog}} {
			if h[1] != "" {
				r.Header.Set(h[0], h[1])
			}
		}
		got := KeyFromRequest(r)
		if got != strings.TrimSpace(got) {
			t.Fatalf("key %q has surrounding space", got)
		}
		if got == "" {
			return
		}
		if !strings.Contains(auth, got) && !strings.Contains(xAPIKey, got) && !strings.Contains(goog, got) {
			t.Fatalf("key %q is in no header", got)
		}
		if auth != "" {
			scheme, _, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				t.Fatalf("Authorization %q with a scheme other than Bearer gave key %q", auth, got)
			}
		}
	})
}
