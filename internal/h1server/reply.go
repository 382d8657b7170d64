package h1server

import (
	"errors"
	"strconv"
	"time"
)

// replyError answers a request refused before any handler ran, in the
// gateway's error format (OpenAI's), and the connection closes after it.
// A connection that ended or timed out gets nothing.
func (c *conn) replyError(err error) {
	var re *requestError
	if !errors.As(err, &re) {
		return
	}
	msg := []byte(`{"error":{"message":`)
	msg = strconv.AppendQuote(msg, re.msg)
	msg = append(msg, `,"type":"invalid_request_error","param":null,"code":`...)
	msg = strconv.AppendQuote(msg, re.code)
	msg = append(msg, "}}\n"...)
	buf := getBuf()
	out := append(*buf, statusLine(re.status)...)
	out = append(out, "Content-Type: application/json\r\nConnection: close\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(msg)), 10)
	out = append(out, "\r\nDate: "...)
	out = appendDate(out)
	out = append(out, "\r\n\r\n"...)
	out = append(out, msg...)
	c.rwc.SetWriteDeadline(time.Now().Add(time.Second))
	c.rwc.Write(out)
	*buf = out
	putBuf(buf)
	c.linger = true // the rest of the request may be on its way
}
