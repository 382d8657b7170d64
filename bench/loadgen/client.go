package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// conn is one keep-alive HTTP/1.1 client connection. It speaks just enough
// HTTP/1.1 to drive a benchmark cheaply: a pre-encoded request written in
// one call, then the status line, headers, and a Content-Length, chunked or
// read-to-close body, consumed without allocation. A load generator sharing
// two cores with what it measures must cost as little as possible.
type conn struct {
	addr    string
	timeout time.Duration
	nc      net.Conn
	br      *bufio.Reader
	scratch []byte
	tail    []byte // the last bytes of the body, for the Expect check
}

// errBadBody marks a 200 response whose body lacked the expected ending.
var errBadBody = errors.New("body does not end as expected")

// response is what one exchange produced.
type response struct {
	status    int
	firstByte time.Time // when the first body byte arrived; zero if the body was empty
	bytes     int64     // body bytes
}

func newConn(addr string, timeout time.Duration) *conn {
	return &conn{addr: addr, timeout: timeout, scratch: make([]byte, 16<<10)}
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// do sends req (a complete pre-encoded request) and reads the response.
// expect, when not empty, must be the body's last bytes. On any error the
// connection is closed; the next do dials again.
func (c *conn) do(req, expect []byte) (response, error) {
	if c.nc == nil {
		nc, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return response{}, err
		}
		c.nc = nc
		if c.br == nil {
			c.br = bufio.NewReaderSize(nc, 16<<10)
		} else {
			c.br.Reset(nc)
		}
	}
	if c.timeout > 0 {
		c.nc.SetDeadline(time.Now().Add(c.timeout))
	}
	if _, err := c.nc.Write(req); err != nil {
		c.close()
		return response{}, err
	}
	resp, keep, err := c.read(expect)
	if err != nil || !keep {
		c.close()
	}
	return resp, err
}

// read parses one response; keep reports whether the connection may be reused.
func (c *conn) read(expect []byte) (resp response, keep bool, err error) {
	line, err := c.line()
	if err != nil {
		return resp, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return resp, false, fmt.Errorf("malformed status line %q", clip(line))
	}
	status, ok := parseUint(line[9:12], 10)
	resp.status = int(status)
	if !ok {
		return resp, false, fmt.Errorf("malformed status line %q", clip(line))
	}
	keep = line[7] == '1'
	length := int64(-1)
	chunked := false
	for {
		h, err := c.line()
		if err != nil {
			return resp, false, err
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte{':'})
		if !ok {
			return resp, false, fmt.Errorf("malformed header %q", clip(h))
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseUint(value, 10)
			if !ok {
				return resp, false, fmt.Errorf("malformed Content-Length %q", clip(value))
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keep = true
			}
		}
	}
	c.tail = c.tail[:0]
	switch {
	case resp.status == 204 || resp.status == 304 || resp.status/100 == 1:
	case chunked:
		err = c.chunked(&resp)
	case length >= 0:
		err = c.body(&resp, length)
	default:
		keep = false
		err = c.body(&resp, -1)
	}
	if err != nil {
		return resp, false, err
	}
	if len(expect) > 0 && resp.status == 200 && !bytes.HasSuffix(c.tail, expect) {
		return resp, keep, errBadBody
	}
	return resp, keep, nil
}

// line reads one header line without its CRLF. The returned slice is valid
// until the next read.
func (c *conn) line() ([]byte, error) {
	l, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return nil, errors.New("header line too long")
		}
		return nil, err
	}
	l = l[:len(l)-1]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, nil
}

// chunked consumes a chunked body and its trailers.
func (c *conn) chunked(resp *response) error {
	for {
		l, err := c.line()
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i]
		}
		n, ok := parseUint(bytes.TrimSpace(l), 16)
		if !ok {
			return fmt.Errorf("malformed chunk size %q", clip(l))
		}
		if n == 0 {
			for { // trailers, then the final CRLF
				t, err := c.line()
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if err := c.body(resp, n); err != nil {
			return err
		}
		if l, err := c.line(); err != nil || len(l) != 0 {
			return errors.New("chunk not followed by CRLF")
		}
	}
}

// body consumes n bytes of body (n < 0: until EOF), noting when the first
// byte came and keeping the last bytes for the Expect check.
func (c *conn) body(resp *response, n int64) error {
	for n != 0 {
		want := int64(len(c.scratch))
		if n > 0 && n < want {
			want = n
		}
		k, err := c.br.Read(c.scratch[:want])
		if k > 0 {
			if resp.firstByte.IsZero() {
				resp.firstByte = time.Now()
			}
			resp.bytes += int64(k)
			c.keepTail(c.scratch[:k])
			if n > 0 {
				n -= int64(k)
			}
		}
		if err != nil {
			if err == io.EOF && n < 0 {
				return nil
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// tailSize bounds the kept body ending.
const tailSize = 256

func (c *conn) keepTail(p []byte) {
	if len(p) >= tailSize {
		c.tail = append(c.tail[:0], p[len(p)-tailSize:]...)
		return
	}
	if over := len(c.tail) + len(p) - tailSize; over > 0 {
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	c.tail = append(c.tail, p...)
}

// parseUint parses a decimal or hexadecimal number of at most 15 digits
// without allocating.
func parseUint(b []byte, base int64) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = int64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = int64(c-'A') + 10
		default:
			return 0, false
		}
		n = n*base + d
	}
	return n, true
}

func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// EncodeRequest returns the bytes of an HTTP/1.1 request for addr.
func EncodeRequest(addr string, r Request) []byte {
	method := r.Method
	if method == "" {
		method = "POST"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, r.Path, addr)
	for _, h := range r.Header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if len(r.Body) > 0 || method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	return b.Bytes()
}
