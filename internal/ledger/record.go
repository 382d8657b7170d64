package ledger

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
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
		// Out of RFC 3339's range: let encoding/json report it.
		body, err := json.Marshal(e)
		if err != nil {
			return b, fmt.Errorf("encode spool record: %w", err)
		}
		return append(b, body...), nil
	}
	str := func(b []byte, key, v string, omitEmpty bool) []byte {
		if omitEmpty && v == "" {
			return b
		}
		b = append(b, key...)
		return jsonw.AppendString(b, v, true)
	}
	num := func(b []byte, key string, v int64) []byte {
		return strconv.AppendInt(append(b, key...), v, 10)
	}
	b = num(b, `{"seq":`, e.Seq)
	b = str(b, `,"kind":`, string(e.Kind), false)
	b = str(b, `,"org_id":`, e.OrgID, false)
	b = str(b, `,"key_id":`, e.KeyID, true)
	b = str(b, `,"user_id":`, e.UserID, true)
	b = str(b, `,"project":`, e.Project, true)
	b = str(b, `,"request_id":`, e.RequestID, false)
	b = num(b, `,"attempt":`, int64(e.Attempt))
	b = str(b, `,"deployment":`, e.Deployment, true)
	b = str(b, `,"provider":`, e.Provider, true)
	b = str(b, `,"price_version":`, e.PriceVersion, true)
	b = num(b, `,"prompt_tokens":`, e.PromptTokens)
	b = num(b, `,"completion_tokens":`, e.CompletionTokens)
	b = num(b, `,"cached_tokens":`, e.CachedTokens)
	b = num(b, `,"cache_write_tokens":`, e.CacheWriteTokens)
	b = strconv.AppendBool(append(b, `,"estimated":`...), e.Estimated)
	b = num(b, `,"cost":`, int64(e.Cost))
	b = str(b, `,"outcome":`, e.Outcome, true)
	b = str(b, `,"ref":`, e.Ref, true)
	b = str(b, `,"note":`, e.Note, true)
	b = append(e.Start.AppendFormat(append(b, `,"start":"`...), time.RFC3339Nano), '"')
	b = append(e.End.AppendFormat(append(b, `,"end":"`...), time.RFC3339Nano), '"')
	return append(b, '}'), nil
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
