package ledger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/jsonw"
)

// appendRecord appends e's spool line to buf.
func appendRecord(buf []byte, e *octomesh.LedgerEntry) ([]byte, error) {
	// The checksum covers the entry's JSON, which goes right after the
	// header: write the header with a placeholder, then the entry, then
	// fill the checksum in. No intermediate buffer.
	start := len(buf)
	buf = append(buf, `{"v":`...)
	buf = strconv.AppendInt(buf, recordVersion, 10)
	buf = append(buf, `,"crc":"00000000","entry":`...)
	crcAt := len(buf) - len(`00000000","entry":`)
	bodyAt := len(buf)
	buf, err := appendEntryJSON(buf, e)
	if err != nil {
		return buf[:start], err
	}
	sum := crc32.Checksum(buf[bodyAt:], castagnoli)
	const hex = "0123456789abcdef"
	for i := 7; i >= 0; i-- {
		buf[crcAt+i] = hex[sum&0xf]
		sum >>= 4
	}
	return append(buf, "}\n"...), nil
}

// appendEntryJSON appends e as json.Marshal encodes it, byte for byte
// (FuzzEntryJSON checks): every request's usage is journaled, and
// encoding/json's reflection cost a tenth of the journal's time.
func appendEntryJSON(b []byte, e *octomesh.LedgerEntry) ([]byte, error) {
	if !jsonTime(e.Start) || !jsonTime(e.End) {
		return appendEntryMarshal(b, e)
	}
	b = appendNumField(b, `{"seq":`, e.Seq)
	b = appendStrField(b, `,"kind":`, string(e.Kind), false)
	b = appendStrField(b, `,"org_id":`, e.OrgID, false)
	b = appendStrField(b, `,"key_id":`, e.KeyID, true)
	b = appendStrField(b, `,"user_id":`, e.UserID, true)
	b = appendStrField(b, `,"project":`, e.Project, true)
	b = appendStrField(b, `,"request_id":`, e.RequestID, false)
	b = appendNumField(b, `,"attempt":`, int64(e.Attempt))
	b = appendStrField(b, `,"deployment":`, e.Deployment, true)
	b = appendStrField(b, `,"provider":`, e.Provider, true)
	b = appendStrField(b, `,"price_version":`, e.PriceVersion, true)
	b = appendNumField(b, `,"prompt_tokens":`, e.PromptTokens)
	b = appendNumField(b, `,"completion_tokens":`, e.CompletionTokens)
	b = appendNumField(b, `,"cached_tokens":`, e.CachedTokens)
	b = appendNumField(b, `,"cache_write_tokens":`, e.CacheWriteTokens)
	b = strconv.AppendBool(append(b, `,"estimated":`...), e.Estimated)
	b = appendNumField(b, `,"cost":`, int64(e.Cost))
	b = appendStrField(b, `,"outcome":`, e.Outcome, true)
	b = appendStrField(b, `,"ref":`, e.Ref, true)
	b = appendStrField(b, `,"note":`, e.Note, true)
	b = append(e.Start.AppendFormat(append(b, `,"start":"`...), time.RFC3339Nano), '"')
	b = append(e.End.AppendFormat(append(b, `,"end":"`...), time.RFC3339Nano), '"')
	return append(b, '}'), nil
}

// appendStrField and appendNumField append a field of an entry. They are not inlined: inlined
// two dozen times, their temporaries made appendEntryJSON's frame 600
// bytes, under every stream's settling (see h1server's continuation).
//
//go:noinline
func appendStrField(b []byte, key, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(b, key...)
	return jsonw.AppendString(b, v, true)
}

//go:noinline
func appendNumField(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

// appendEntryMarshal appends e encoded by encoding/json, which reports a
// time out of RFC 3339's range. It is apart from appendEntryJSON so that
// its frame is not under every stream's settling.
//
//go:noinline
func appendEntryMarshal(b []byte, e *octomesh.LedgerEntry) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return b, fmt.Errorf("encode spool record: %w", err)
	}
	return append(b, body...), nil
}

// jsonTime reports whether t encodes as time.Time's MarshalJSON does with
// AppendFormat: a four-digit year and a whole-minute offset under 24h.
func jsonTime(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	return off%60 == 0 && off > -24*3600 && off < 24*3600
}

// encodeRecords returns the spool lines of entries.
func encodeRecords(entries []octomesh.LedgerEntry) ([]byte, error) {
	return appendRecords(make([]byte, 0, 512*len(entries)), entries)
}

// appendRecords appends the spool lines of entries to buf.
func appendRecords(buf []byte, entries []octomesh.LedgerEntry) ([]byte, error) {
	for i := range entries {
		var err error
		if buf, err = appendRecord(buf, &entries[i]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decodeRecord parses one spool line (without its newline) and checks its
// checksum.
func decodeRecord(line []byte) (octomesh.LedgerEntry, error) {
	var r struct {
		V     int             `json:"v"`
		CRC   string          `json:"crc"`
		Entry json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return octomesh.LedgerEntry{}, fmt.Errorf("spool record: %w", err)
	}
	if r.V != recordVersion {
		return octomesh.LedgerEntry{}, fmt.Errorf("spool record: unknown version %d", r.V)
	}
	if want := fmt.Sprintf("%08x", crc32.Checksum(r.Entry, castagnoli)); r.CRC != want {
		return octomesh.LedgerEntry{}, errors.New("spool record: checksum mismatch")
	}
	var e octomesh.LedgerEntry
	if err := json.Unmarshal(r.Entry, &e); err != nil {
		return octomesh.LedgerEntry{}, fmt.Errorf("spool record: %w", err)
	}
	e.Seq = 0
	return e, nil
}

// readSegment reads a segment's records and calls fn with them in order,
// at most max at a time. Records end with a newline; NUL bytes end them
// too, and runs of NULs are skipped (a mapped journal segment's
// preallocated tail: see spool.go). It skips (and counts) lines that fail
// their checksum or lack their newline: the pieces of one record torn by
// NULs count once. It stops at fn's first error. fn must not keep the
// slice.
func readSegment(r io.Reader, maxBatch int, fn func([]octomesh.LedgerEntry) error) (skipped int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	batch := make([]octomesh.LedgerEntry, 0, maxBatch)
	var line []byte // the record being read, across buffer refills
	// torn: the last piece was cut short by a NUL; the pieces that follow
	// it, up to a newline, are the same torn record's.
	torn := false
	// end handles the piece in line, ended by a newline (complete), a NUL
	// or the end of the file. Only a complete piece can be a record: one
	// cut short was never acknowledged, even if it would decode.
	end := func(complete bool) error {
		defer func() { line = line[:0] }()
		if !complete {
			if len(bytes.TrimSpace(line)) > 0 {
				if !torn {
					skipped++
				}
				torn = true
			}
			return nil
		}
		e, derr := decodeRecord(line)
		if derr != nil {
			if !torn {
				skipped++
			}
			torn = false
			return nil
		}
		torn = false
		batch = append(batch, e)
		if len(batch) == maxBatch {
			if err := fn(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
		return nil
	}
	for {
		chunk, rerr := br.ReadSlice('\n')
		if rerr != nil && rerr != io.EOF && rerr != bufio.ErrBufferFull {
			return skipped, fmt.Errorf("read spool: %w", rerr)
		}
		complete := rerr == nil // chunk ends with the newline
		if complete {
			chunk = chunk[:len(chunk)-1]
		}
		for {
			i := bytes.IndexByte(chunk, 0)
			if i < 0 {
				break
			}
			line = append(line, chunk[:i]...)
			if err := end(false); err != nil {
				return skipped, err
			}
			for i < len(chunk) && chunk[i] == 0 {
				i++
			}
			chunk = chunk[i:]
		}
		line = append(line, chunk...)
		if complete {
			if err := end(true); err != nil {
				return skipped, err
			}
		}
		if rerr == io.EOF {
			if err := end(false); err != nil {
				return skipped, err
			}
			break
		}
	}
	if len(batch) > 0 {
		if err := fn(batch); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}
