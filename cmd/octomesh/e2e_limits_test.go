package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowClientsCannotHoldTheServer: a client that never finishes its
// headers, or trickles its body, is cut off at the configured read timeouts.
func TestSlowClientsCannotHoldTheServer(t *testing.T) {
	ts := startServer(t, serverOptions{readTimeout: "300ms"})
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, tc := range []struct{ name, send, wantStatus string }{
		{"headers never finish", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n", ""},
		{"body never arrives", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ts.AdminKey + "\r\nContent-Length: 1000\r\n\r\n{\"model\":", "408"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, _ := io.ReadAll(conn) // returns when the server closes the connection
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the server held a slow client for %v; want it cut off near 300ms", d)
			}
			// A body that stops arriving is the client's timeout: 408, in
			// the API's error format (not 400, as if the JSON were bad).
			if tc.wantStatus != "" {
				if !strings.HasPrefix(string(got), "HTTP/1.1 "+tc.wantStatus) || !strings.Contains(string(got), `"code":"request_timeout"`) {
					t.Errorf("answer to a slow body:\n%s\nwant %s with code request_timeout", got, tc.wantStatus)
				}
			}
		})
	}
	// The server still answers others.
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after slow clients: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestClientDisconnectCancelsUpstream: a client that goes away mid-stream
// cancels the upstream attempt within a second. The sim's "stall" fault
// streams a little and then blocks until its context ends, so the request is
// only recorded (as 499, client gone) once the cancellation reached it.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	ts := startServer(t, serverOptions{})
	body := `{"model":"` + modelSim + `","stream":true,"metadata":{"sim_fault":"stall"},"messages":[{"role":"user","content":"tell me a long story"}]}`
	req, _ := http.NewRequest("POST", ts.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ts.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	resp.Body.Close() // the client goes away mid-answer
	deadline := time.Now().Add(time.Second)
	for {
		m := ts.metrics(t)
		if strings.Contains(m, `code="499"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cancelled (499) request recorded 1s after the client left; metrics:\n%s", grepLines(m, "octomesh_requests_total"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (ts *testServer) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeHelpDoesNotStartAServer: "serve -h" prints the flags and returns.
func TestServeHelpDoesNotStartAServer(t *testing.T) {
	var out, errOut strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"serve", "-h", "--listen", "127.0.0.1:0"}, func(string) string { return "" }, &out, &errOut)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run = %v, want nil", err)
		}
		if !strings.Contains(errOut.String(), "-config") {
			t.Errorf("help output %q lacks the flags", errOut.String())
		}
		if strings.Contains(out.String(), "listening") {
			t.Error("serve -h started a server")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve -h did not return: it started a server")
	}
}
