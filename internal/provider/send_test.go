package provider

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// TestPostNeverFollowsRedirects: whatever the client's redirect policy, an
// upstream's redirect is an error, not a second request carrying our
// credentials somewhere else.
func TestPostNeverFollowsRedirects(t *testing.T) {
	other := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other++ }))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	for name, c := range map[string]*http.Client{
		"gateway client": NewHTTPClient(HTTPOptions{}, false),
		"default policy": {},
	} {
		_, err := PostBytes(context.Background(), c, "p", srv.URL, http.Header{"Authorization": {"Bearer k"}}, []byte(`{}`), nil)
		if err == nil || other != 0 {
			t.Errorf("%s: err %v, requests elsewhere %d", name, err, other)
		}
	}
}

// TestSendErrors: transport failures come back as *url.Error, as
// http.Client.Do returns them, and normalise the same way.
func TestSendErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	addr := srv.URL
	srv.Close() // nothing listens there now
	_, err := PostBytes(context.Background(), NewHTTPClient(HTTPOptions{}, false), "p", addr, nil, []byte(`{}`), nil)
	var ue *url.Error
	if !errors.As(err, &ue) || ue.Op != "Post" {
		t.Errorf("cause of %v is not a *url.Error for Post", err)
	}
	if octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM {
		t.Errorf("refused connection: code %v, want EUPSTREAM", octomesh.ErrorCodeOf(err))
	}

	// A client with an overall timeout goes through Client.Do, which enforces it.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer close(release) // before Close, which waits for the handler
	c := NewHTTPClient(HTTPOptions{}, false)
	c.Timeout = 50 * time.Millisecond
	start := time.Now()
	_, err = PostBytes(context.Background(), c, "p", slow.URL, nil, []byte(`{}`), nil)
	if octomesh.ErrorCodeOf(err) != octomesh.ETIMEOUT || time.Since(start) > time.Second {
		t.Errorf("client timeout: err %v after %v, want ETIMEOUT quickly", err, time.Since(start))
	}
}
