package h1

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// A provider's answer head, as OpenAI sends it: lower-case names, a dozen
// and more headers, one of them repeated.
const providerHead = "HTTP/1.1 200 OK\r\n" +
	"date: Fri, 27 Nov 2026 05:00:00 GMT\r\ncontent-type: application/json\r\ncontent-length: 2\r\n" +
	"connection: keep-alive\r\naccess-control-expose-headers: X-Request-ID\r\nopenai-organization: org-x\r\n" +
	"openai-processing-ms: 412\r\nopenai-version: 2020-10-01\r\nx-ratelimit-limit-requests: 10000\r\n" +
	"x-ratelimit-limit-tokens: 2000000\r\nx-ratelimit-remaining-requests: 9999\r\nx-ratelimit-remaining-tokens: 1999000\r\n" +
	"x-ratelimit-reset-requests: 6ms\r\nx-ratelimit-reset-tokens: 30ms\r\nx-request-id: req_abc\r\n" +
	"set-cookie: a=1\r\nset-cookie: b=2\r\ncf-ray: 8f-AMS\r\nx-content-type-options: nosniff\r\nserver: cloudflare\r\n\r\n{}"

func TestReadHeadCanonicalisesAndKeepsEveryValue(t *testing.T) {
	budget := 1 << 20
	h, err := readHead(bufio.NewReader(strings.NewReader(providerHead)), &budget)
	if err != nil {
		t.Fatal(err)
	}
	hdr := h.resp.Header
	for k, want := range map[string]string{
		"Content-Type": "[application/json]", "X-Ratelimit-Limit-Tokens": "[2000000]",
		"Set-Cookie": "[a=1 b=2]", "Access-Control-Expose-Headers": "[X-Request-ID]", "X-Request-Id": "[req_abc]",
	} {
		if got := fmt.Sprint(hdr[k]); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	if len(hdr) != 19 || h.resp.StatusCode != 200 || h.resp.Status != "200 OK" {
		t.Errorf("%d headers, status %d %q", len(hdr), h.resp.StatusCode, h.resp.Status)
	}
}

// The head costs a handful of allocations, not two or three per header
// (it was 59 for this head).
func TestReadHeadAllocations(t *testing.T) {
	r := strings.NewReader(providerHead)
	br := bufio.NewReaderSize(r, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		r.Reset(providerHead)
		br.Reset(r)
		budget := 1 << 20
		if _, err := readHead(br, &budget); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Fatalf("readHead allocates %.0f times for a 19-header head, want at most 10", allocs)
	}
}

// A head and its text fill a size class of the allocator; its strings
// outlive the scratch buffer the head was read into.
func TestHeadSizes(t *testing.T) {
	for _, c := range []struct{ size, class uintptr }{
		{unsafe.Sizeof(headWithText[[208]byte]{}), 640},
		{unsafe.Sizeof(headWithText[[336]byte]{}), 768},
		{unsafe.Sizeof(headWithText[[592]byte]{}), 1024},
		{unsafe.Sizeof(headWithText[[976]byte]{}), 1408},
	} {
		if c.size+8 > c.class { // the allocator's header of a large object with pointers
			t.Errorf("a head with text is %d bytes, past the %d-byte class", c.size, c.class)
		}
	}
	for _, extra := range []int{0, 50, 100, 200, 400, 800, 1000} {
		head := "HTTP/1.1 200 OK\r\nX-Pad: " + strings.Repeat("p", extra) + "\r\nContent-Length: 0\r\n\r\n"
		budget := 1 << 20
		h, err := readHead(bufio.NewReader(strings.NewReader(head)), &budget)
		if err != nil {
			t.Fatal(err)
		}
		for range 20 { // the pooled scratch buffer is reused meanwhile
			b := 1 << 20
			readHead(bufio.NewReader(strings.NewReader("HTTP/1.1 500 Oops\r\nX-Pad: "+strings.Repeat("q", extra)+"\r\n\r\n")), &b)
		}
		if got := h.resp.Header.Get("X-Pad"); got != strings.Repeat("p", extra) || h.resp.Status != "200 OK" {
			t.Fatalf("head of %d: X-Pad %q, status %q", len(head), got, h.resp.Status)
		}
	}
}
