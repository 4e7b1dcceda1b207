package audit

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/jsonenc"
)

// reference is what the record format is defined as: encoding/json of the
// struct, HTML escaping off, no trailing newline.
func reference(r *Record) ([]byte, error) { return jsonenc.Marshal(r) }

func requireSameAsReference(t *testing.T, r *Record) {
	t.Helper()
	want, werr := reference(r)
	got, gerr := appendRecord(nil, r)
	if werr != nil {
		require.Error(t, gerr, "encoding/json refused: %v", werr)
		return
	}
	require.NoError(t, gerr)
	require.Equal(t, string(want), string(got))
}

var awkward = []string{
	"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x08\x0c\n\r\t\x1f\x7f", "<html> & 'x'",
	"é ü 日本 🙂", "bad \xff\xfe utf8 \xc3", "line\u2028para\u2029sep", "\ufffd", strings.Repeat("x", 300),
}

func fullRecord(s string, f float64) *Record {
	return &Record{
		Time: time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.FixedZone("x", 5*3600+30*60)), TraceID: s, SpanID: s,
		ProposedBySpan: s, ConversationID: s, CallID: s, Tool: s, Effect: s, Risk: s, Subject: s, SVIDSerial: s, Peer: s,
		ArgsDigest: s, Args: map[string]any{"b": s, "a": []any{1.5, nil, true, map[string]any{"<": s}}},
		Destinations: []string{s, s + "2"}, Untrusted: []string{s}, Allow: true, Code: s, Reasons: []Reason{{Code: s, Message: s}, {Code: "c"}},
		PolicyID: s, PolicyRevision: s, Cached: true, Approval: s, CredentialID: s, CredentialAudience: s,
		CredentialTTLSeconds: f, Shadow: &Shadow{Revision: s, Allow: true, Code: s, Flip: s}, Outcome: s, Error: s, DurationMS: f,
	}
}

// fullRecord sets every field of a Record, so a field added to Record but
// not to appendRecord fails the comparison with encoding/json.
func TestFullRecordSetsEveryField(t *testing.T) {
	v := reflect.ValueOf(fullRecord("s", 1)).Elem()
	for i := range v.NumField() {
		require.False(t, v.Field(i).IsZero(), "fullRecord leaves %s zero", v.Type().Field(i).Name)
	}
}

func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	requireSameAsReference(t, &Record{})
	requireSameAsReference(t, &Record{Time: time.Now(), Tool: "t", Outcome: "ok", DurationMS: 0.25})
	for _, s := range awkward {
		for _, f := range []float64{0, 1, -1, 0.001, 1e-6, 9.99e-7, 1e-7, 123456.789, 1e20, 1e21, 1e300, -5e-324, math.MaxFloat64} {
			requireSameAsReference(t, fullRecord(s, f))
		}
	}
	// What encoding/json refuses, appendRecord refuses.
	for _, r := range []*Record{
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600))},
		{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", -25*3600))},
		{DurationMS: math.NaN()}, {DurationMS: math.Inf(1)}, {CredentialTTLSeconds: math.Inf(-1)},
		{Args: map[string]any{"f": math.NaN()}},
	} {
		requireSameAsReference(t, r)
		_, err := appendRecord(nil, r)
		require.Error(t, err)
	}
	// A zone with seconds in its offset is written to the minute by both.
	requireSameAsReference(t, &Record{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 3600+61))})
}

func TestAppendRecordRandomStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		requireSameAsReference(t, fullRecord(string(b), r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30))))
	}
}

func FuzzAppendRecordMatchesEncodingJSON(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, 1.5, int64(0))
	}
	f.Fuzz(func(t *testing.T, s string, x float64, nanos int64) {
		r := fullRecord(s, x)
		r.Time = time.Unix(0, nanos).UTC()
		want, werr := reference(r)
		got, gerr := appendRecord(nil, r)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("errors differ: json %v, ours %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(want, got) {
			t.Fatalf("\njson %s\nours %s", want, got)
		}
	})
}
