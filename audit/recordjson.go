package audit

import (
	"errors"
	"strconv"
	"time"

	"github.com/ztagent/ztagent/internal/jsonenc"
)

// appendRecord appends r as one JSON object, byte for byte what
// encoding/json writes for it with HTML escaping off, without reflection:
// a record is written on every tool call, and the generic encoder costs as
// much as the rest of the record path. Only Args (arbitrary values) goes
// through encoding/json. The equality with encoding/json is tested and
// fuzzed, so the record format has one definition: the struct tags.
func appendRecord(b []byte, r *Record) ([]byte, error) {
	// The two times RFC 3339 cannot express, which encoding/json refuses.
	if y := r.Time.Year(); y < 0 || y > 9999 {
		return nil, errors.New("audit: record time: year outside of range [0,9999]")
	}
	if _, off := r.Time.Zone(); off <= -24*3600 || off >= 24*3600 {
		return nil, errors.New("audit: record time: timezone hour outside of range [0,23]")
	}
	b = append(b, `{"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = optString(b, `,"trace_id":`, r.TraceID)
	b = optString(b, `,"span_id":`, r.SpanID)
	b = optString(b, `,"proposed_by_span_id":`, r.ProposedBySpan)
	b = optString(b, `,"conversation_id":`, r.ConversationID)
	b = optString(b, `,"call_id":`, r.CallID)
	b = append(b, `,"tool":`...)
	b = jsonenc.AppendString(b, r.Tool)
	b = append(b, `,"effect":`...)
	b = jsonenc.AppendString(b, r.Effect)
	b = optString(b, `,"risk":`, r.Risk)
	b = optString(b, `,"subject":`, r.Subject)
	b = optString(b, `,"svid_serial":`, r.SVIDSerial)
	b = optString(b, `,"peer":`, r.Peer)
	b = optString(b, `,"args_digest":`, r.ArgsDigest)
	if len(r.Args) > 0 {
		var err error
		if b, err = jsonenc.AppendMarshal(append(b, `,"args":`...), r.Args); err != nil {
			return nil, err
		}
	}
	b = optStrings(b, `,"destinations":[`, r.Destinations)
	b = optStrings(b, `,"untrusted":[`, r.Untrusted)
	b = append(b, `,"allow":`...)
	b = strconv.AppendBool(b, r.Allow)
	b = optString(b, `,"code":`, r.Code)
	if len(r.Reasons) > 0 {
		b = append(b, `,"reasons":[`...)
		for i, x := range r.Reasons {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"code":`...)
			b = jsonenc.AppendString(b, x.Code)
			b = optString(b, `,"message":`, x.Message)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = optString(b, `,"policy_id":`, r.PolicyID)
	b = optString(b, `,"policy_revision":`, r.PolicyRevision)
	if r.Cached {
		b = append(b, `,"cached":true`...)
	}
	b = optString(b, `,"approval":`, r.Approval)
	b = optString(b, `,"credential_id":`, r.CredentialID)
	b = optString(b, `,"credential_audience":`, r.CredentialAudience)
	var err error
	if r.CredentialTTLSeconds != 0 {
		b = append(b, `,"credential_ttl_seconds":`...)
		if b, err = jsonenc.AppendFloat(b, r.CredentialTTLSeconds); err != nil {
			return nil, err
		}
	}
	if s := r.Shadow; s != nil {
		b = append(b, `,"shadow":{"revision":`...)
		b = jsonenc.AppendString(b, s.Revision)
		b = append(b, `,"allow":`...)
		b = strconv.AppendBool(b, s.Allow)
		b = optString(b, `,"code":`, s.Code)
		b = optString(b, `,"flip":`, s.Flip)
		b = append(b, '}')
	}
	b = append(b, `,"outcome":`...)
	b = jsonenc.AppendString(b, r.Outcome)
	b = optString(b, `,"error":`, r.Error)
	b = append(b, `,"duration_ms":`...)
	if b, err = jsonenc.AppendFloat(b, r.DurationMS); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// optString appends key and s unless s is empty (omitempty).
func optString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return jsonenc.AppendString(append(b, key...), s)
}

// optStrings appends key (with its opening bracket) and ss unless ss is
// empty (omitempty).
func optStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, key...)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, s)
	}
	return append(b, ']')
}
