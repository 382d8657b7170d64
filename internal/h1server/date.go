package h1server

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateCache holds the Date header's value for the current second: every
// answer carries it, and formatting it costs more than the rest of the head.
type dateCache struct {
	sec  int64
	text []byte
}

var cachedDate atomic.Pointer[dateCache]

func appendDate(out []byte) []byte {
	now := time.Now()
	d := cachedDate.Load()
	if d == nil || d.sec != now.Unix() {
		d = &dateCache{sec: now.Unix(), text: now.UTC().AppendFormat(nil, http.TimeFormat)}
		cachedDate.Store(d)
	}
	return append(out, d.text...)
}
