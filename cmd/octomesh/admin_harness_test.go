package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/storetest"
)

// This file runs `octomesh serve` for the admin API tests, on SQLite or on
// PostgreSQL, with only the simulated fleet (instant answers).

const adminConfig = `
server:
  shutdown_timeout: 2s
log:
  level: debug
  format: text
  flush_interval: 0s # its canary scans read the log while the server runs
sim:
  enabled: true
  seed: 7
  speed: 0
database:
  dsn: "${ADMIN_TEST_DSN:-}"
metering:
  counters: "${METERING_COUNTERS:-memory}"
  redis: "${METERING_REDIS:-}"
  redis_prefix: "${METERING_PREFIX:-octomesh:}"
`

// backend is a store the admin tests run against: "" DSN is SQLite.
type backend struct {
	name string
	dsn  func(t *testing.T) string
}

// backends returns SQLite and, when OCTOMESH_TEST_POSTGRES_DSN is set,
// PostgreSQL (in a schema of its own per test).
func backends() []backend {
	return []backend{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }},
	}
}

// adminServer is a running `octomesh serve` for admin tests.
type adminServer struct {
	URL      string
	AdminKey string // the bootstrap operator key: owner of "default"
	DataDir  string
	DSN      string // "" for SQLite
	CfgPath  string
	Stdout   *syncBuffer
	Stderr   *syncBuffer
	getenv   func(string) string
}

func startAdminServer(t *testing.T, dsn string) *adminServer {
	t.Helper()
	return startAdminNode(t, dsn, t.TempDir(), "om-admin-test-"+randomHex(t, 16))
}

// startAdminNode starts a server on a given database: two nodes with the
// same dsn (PostgreSQL) or data directory (SQLite) share their state.
func startAdminNode(t *testing.T, dsn, dataDir, adminKey string) *adminServer {
	t.Helper()
	return startAdminNodeEnv(t, dsn, dataDir, adminKey, nil)
}

// startAdminNodeEnv is startAdminNode with extra environment variables
// for the config (METERING_COUNTERS, METERING_REDIS, METERING_PREFIX).
func startAdminNodeEnv(t *testing.T, dsn, dataDir, adminKey string, extra map[string]string) *adminServer {
	t.Helper()
	ts := &adminServer{
		AdminKey: adminKey,
		DataDir:  dataDir,
		DSN:      dsn,
		CfgPath:  filepath.Join(t.TempDir(), "octomesh.yaml"),
		Stdout:   &syncBuffer{},
		Stderr:   &syncBuffer{},
	}
	if err := os.WriteFile(ts.CfgPath, []byte(adminConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OCTOMESH_ADMIN_KEY": ts.AdminKey, "ADMIN_TEST_DSN": dsn}
	for k, v := range extra {
		env[k] = v
	}
	ts.getenv = func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	args := []string{"--config", ts.CfgPath, "--listen", "127.0.0.1:0", "--data-dir", ts.DataDir}
	go func() {
		errc <- serve(ctx, args, ts.getenv, ts.Stdout, ts.Stderr, func(addr string) { addrc <- addr })
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("serve returned %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("serve did not return within 15s of cancellation")
			}
		})
	}
	select {
	case addr := <-addrc:
		ts.URL = "http://" + addr
	case err := <-errc:
		cancel()
		t.Fatalf("serve failed to start: %v\nstderr:\n%s", err, ts.Stderr.Bytes())
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("serve did not start within 15s\nstderr:\n%s", ts.Stderr.Bytes())
	}
	t.Cleanup(stop)
	return ts
}

// cli runs an administration command against the server's database.
func (ts *adminServer) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	full := append(append([]string{}, args...), "--config", ts.CfgPath, "--data-dir", ts.DataDir)
	err := run(context.Background(), full, ts.getenv, &out, &errb)
	return out.String() + errb.String(), err
}

// response is one HTTP exchange's outcome.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request with key (none when "") and returns the response.
func (ts *adminServer) do(t *testing.T, key, method, path, body string, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// must sends a request that must answer want, and decodes the JSON answer into out.
func (ts *adminServer) must(t *testing.T, want int, key, method, path, body string, out any) {
	t.Helper()
	r := ts.do(t, key, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, r.Body)
		}
	}
}

// Minimal views of the admin API's objects.
type apiOrg struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Owner    apiUser
	OwnerKey apiKey `json:"owner_key"`
}

type apiUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type apiKey struct {
	ID     string `json:"id"`
	OrgID  string `json:"org_id"`
	UserID string `json:"user_id"`
	Prefix string `json:"prefix"`
	Role   string `json:"role"`
	Status string `json:"status"`
	Key    string `json:"key"`
}

type apiList[T any] struct {
	Object string `json:"object"`
	Data   []T    `json:"data"`
}

// newOrg creates an organisation with the operator key.
func (ts *adminServer) newOrg(t *testing.T, name, ownerName, ownerEmail string) apiOrg {
	t.Helper()
	var o apiOrg
	body := fmt.Sprintf(`{"name":%q,"billing_email":%q,"owner":{"name":%q,"email":%q}}`, name, "billing-"+ownerEmail, ownerName, ownerEmail)
	ts.must(t, 201, ts.AdminKey, "POST", "/v1/orgs", body, &o)
	return o
}

// newMember creates a user with a role in org and a key of that role for
// them, using the org owner's key.
func (ts *adminServer) newMember(t *testing.T, ownerKey, org, name, email, role string) (apiUser, apiKey) {
	t.Helper()
	var u apiUser
	ts.must(t, 201, ownerKey, "POST", "/v1/orgs/"+org+"/users", fmt.Sprintf(`{"name":%q,"email":%q}`, name, email), &u)
	ts.must(t, 200, ownerKey, "PUT", "/v1/orgs/"+org+"/members/"+u.ID, fmt.Sprintf(`{"role":%q}`, role), nil)
	var k apiKey
	ts.must(t, 201, ownerKey, "POST", "/v1/orgs/"+org+"/keys", fmt.Sprintf(`{"name":"%s key","role":%q,"user_id":%q}`, role, role, u.ID), &k)
	return u, k
}
