package audit_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/internal/jsonenc"
)

var testKey = []byte("0123456789abcdef-test-key")

// mac is what a redacted value becomes under testKey: the HMAC of its
// canonical JSON.
func mac(canon string) string {
	h := hmac.New(sha256.New, testKey)
	h.Write([]byte(canon))
	return "hmac-sha256:" + hex.EncodeToString(h.Sum(nil))
}

func TestRedactArgs(t *testing.T) {
	const args = `{
		"to": "bob@example.com",
		"body": "the password is hunter2",
		"n": 12345678901234567890,
		"headers": {"authorization": "Bearer s3cr3t", "accept": "text/plain"},
		"items": [{"secret": "a", "id": 1}, {"secret": "b", "id": 2}],
		"tags": ["x", "y"],
		"api.key": "k-123",
		"call": {"args": {"body": "literal"}}
	}`
	tests := []struct {
		name   string
		redact []string
		key    []byte
		want   map[string]any // top-level keys checked; others must be unchanged
	}{
		{
			name: "nothing named copies every value",
		},
		{
			name:   "decision path and bare path",
			redact: []string{"call.args.body", "headers.authorization"},
			want: map[string]any{
				"body":    audit.Redacted,
				"headers": map[string]any{"authorization": audit.Redacted, "accept": "text/plain"},
				// an argument literally named "call" is redacted too: over, not under
				"call": map[string]any{"args": map[string]any{"body": audit.Redacted}},
			},
		},
		{
			name:   "hmac of the canonical JSON",
			redact: []string{"body", "headers", "n"},
			key:    testKey,
			want: map[string]any{
				"body":    mac(`"the password is hunter2"`),
				"headers": mac(`{"accept":"text/plain","authorization":"Bearer s3cr3t"}`),
				"n":       mac(`12345678901234567890`),
			},
		},
		{
			name:   "array element by index",
			redact: []string{"items.1.secret"},
			want: map[string]any{"items": []any{
				map[string]any{"secret": "a", "id": json.Number("1")},
				map[string]any{"secret": audit.Redacted, "id": json.Number("2")},
			}},
		},
		{
			name:   "every element by star or by plain key",
			redact: []string{"items.*.secret", "call.args.items.id"},
			want: map[string]any{"items": []any{
				map[string]any{"secret": audit.Redacted, "id": audit.Redacted},
				map[string]any{"secret": audit.Redacted, "id": audit.Redacted},
			}},
		},
		{
			name:   "a whole array",
			redact: []string{"tags"},
			want:   map[string]any{"tags": audit.Redacted},
		},
		{
			name:   "key with a dot",
			redact: []string{"call.args.api.key"},
			want:   map[string]any{"api.key": audit.Redacted},
		},
		{
			name:   "all arguments",
			redact: []string{"call.args"},
			want: map[string]any{
				"to": audit.Redacted, "body": audit.Redacted, "n": audit.Redacted, "headers": audit.Redacted,
				"items": audit.Redacted, "tags": audit.Redacted, "api.key": audit.Redacted, "call": audit.Redacted,
			},
		},
		{
			name:   "missing paths and paths through scalars name nothing",
			redact: []string{"nope", "headers.nope.deeper", "to.x", "items.7", "tags.-1", "", "  ", "context.taint"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := audit.RedactArgs(json.RawMessage(args), tc.redact, tc.key)
			require.NoError(t, err)
			var orig map[string]any
			dec := json.NewDecoder(strings.NewReader(args))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&orig))
			require.Len(t, got, len(orig))
			for k, v := range orig {
				if w, ok := tc.want[k]; ok {
					require.Equal(t, w, got[k], k)
				} else {
					require.Equal(t, v, got[k], "%s is untouched", k)
				}
			}
			// What a sink writes holds no redacted value.
			b, err := json.Marshal(got)
			require.NoError(t, err)
			for _, p := range tc.redact {
				if p == "call.args.body" {
					require.NotContains(t, string(b), "hunter2")
				}
			}
		})
	}
}

// TestRedactArgsFoldsCase: the tool reads "Password", "PASSWORD" and
// "paſſword" (U+017F folds to s) into its password field, so a path naming
// password hides all of them, nested ones too.
func TestRedactArgsFoldsCase(t *testing.T) {
	got, err := audit.RedactArgs([]byte(`{"Password":"a","PASSWORD":"b","paſſword":"c","passwords":"d","Auth":{"Token":"e","token":"f"},"list":[{"TOKEN":"g"}]}`),
		[]string{"password", "call.args.auth.token", "list.token"}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"Password": audit.Redacted, "PASSWORD": audit.Redacted, "paſſword": audit.Redacted,
		"passwords": "d",
		"Auth":      map[string]any{"Token": audit.Redacted, "token": audit.Redacted},
		"list":      []any{map[string]any{"TOKEN": audit.Redacted}},
	}, got)
}

func TestRedactArgsEqualValuesCorrelate(t *testing.T) {
	r, err := audit.NewArgsRecorder(testKey)
	require.NoError(t, err)
	a, err := r.Record([]byte(`{"to":"bob@example.com","cc":"bob@example.com","bcc":"eve@example.com"}`), []string{"to", "cc", "bcc"})
	require.NoError(t, err)
	require.Equal(t, a["to"], a["cc"])
	require.NotEqual(t, a["to"], a["bcc"])
	require.NotContains(t, a["to"], "bob")

	other, err := audit.RedactArgs([]byte(`{"to":"bob@example.com"}`), []string{"to"}, []byte("another-key-of-16+bytes"))
	require.NoError(t, err)
	require.NotEqual(t, a["to"], other["to"], "another key, another value")
}

func TestRedactArgsErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		key     []byte
		wantErr string
	}{
		{"bad JSON", `{"to":`, nil, "audit: arguments are not valid JSON"},
		{"trailing data", `{"to":"a"} {"to":"b"}`, nil, "audit: arguments have data after the JSON value"},
		{"trailing non-JSON", `{"to":"a"} x`, nil, "audit: arguments have data after the JSON value"},
		{"trailing close", `{"to":"a"}}`, nil, "audit: arguments have data after the JSON value"},
		{"duplicate key", `{"to":"a","to":"b"}`, nil, `audit: arguments are not valid JSON: duplicate key "to"`},
		{"nested duplicate key", `{"h":{"to":"a","to":"b"}}`, nil, `duplicate key "to"`},
		{"empty", ``, nil, "audit: arguments are not valid JSON"},
		{"array", `["a"]`, nil, "audit: arguments are a JSON array, not an object"},
		{"string", `"a"`, nil, "audit: arguments are a JSON string, not an object"},
		{"number", `1`, nil, "audit: arguments are a JSON number, not an object"},
		{"empty key", `{}`, []byte{}, "audit: HMAC key of 0 bytes is shorter than 16"},
		{"short key", `{}`, []byte("short"), "audit: HMAC key of 5 bytes is shorter than 16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := audit.RedactArgs([]byte(tc.args), []string{"to"}, tc.key)
			require.ErrorContains(t, err, tc.wantErr)
			require.Nil(t, got, "nothing escapes a failed redaction")
		})
	}

	got, err := audit.RedactArgs([]byte(`null`), []string{"to"}, nil)
	require.NoError(t, err)
	require.Nil(t, got)

	// Record refuses as RedactArgs does: trailing bytes that are not JSON
	// at all are not "nothing more".
	rec, err := audit.NewArgsRecorder(testKey)
	require.NoError(t, err)
	got, err = rec.Record([]byte(`{"a":1} x`), nil)
	require.EqualError(t, err, "audit: arguments have data after the JSON value")
	require.Nil(t, got)

	var nilRec *audit.ArgsRecorder
	_, err = nilRec.Record([]byte(`{}`), nil)
	require.EqualError(t, err, "audit: nil ArgsRecorder")
}

// RecordValue gives what Record gives, from the decoded arguments, and never
// changes them: a caller may hold them shared (toolguard caches them).
func TestRecordValueLeavesInputUnchanged(t *testing.T) {
	const args = `{"to":"bob@example.com","body":"hunter2","headers":{"authorization":"Bearer s3cr3t","accept":"*/*"},` +
		`"items":[{"secret":"a","id":1},{"secret":"b","id":2}],"tags":["x","y"],"n":12345678901234567890}`
	decode := func() any {
		dec := json.NewDecoder(strings.NewReader(args))
		dec.UseNumber()
		var v any
		require.NoError(t, dec.Decode(&v))
		return v
	}
	redact := []string{"call.args.body", "headers.authorization", "items.*.secret", "items.1", "tags.0", "n", "nope.x"}
	for _, key := range [][]byte{nil, testKey} {
		rec, err := audit.NewArgsRecorder(key)
		require.NoError(t, err)
		v := decode()
		got, err := rec.RecordValue(v, redact)
		require.NoError(t, err)
		require.Equal(t, decode(), v, "the input is unchanged")

		want, err := rec.Record([]byte(args), redact)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.NotContains(t, fmt.Sprint(got), "hunter2")
		require.NotContains(t, fmt.Sprint(got), "s3cr3t")

		// Neither is the result changed through the input.
		v.(map[string]any)["headers"].(map[string]any)["authorization"] = "changed"
		require.NotEqual(t, "changed", got["headers"].(map[string]any)["authorization"])
	}

	rec, err := audit.NewArgsRecorder(nil)
	require.NoError(t, err)
	got, err := rec.RecordValue(nil, []string{"to"})
	require.NoError(t, err)
	require.Nil(t, got)
	_, err = rec.RecordValue([]any{"a"}, nil)
	require.EqualError(t, err, "audit: arguments are a JSON array, not an object")
	_, err = rec.RecordValue(map[string]string{"a": "b"}, nil)
	require.EqualError(t, err, "audit: arguments are a map[string]string, not a decoded JSON object")
	var nilRec *audit.ArgsRecorder
	_, err = nilRec.RecordValue(map[string]any{}, nil)
	require.EqualError(t, err, "audit: nil ArgsRecorder")
}

func FuzzRedactArgs(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,{"c":"s"}]},"a.b":"x"}`), "a.b")
	f.Add([]byte(`{"call":{"args":{"x":1}},"x":[true,null]}`), "call.args.x")
	f.Add([]byte(`[1,2]`), "*")
	f.Add([]byte(`{"k":"v"}`), "k")
	f.Add([]byte(`{"Password":"a","paſſword":"b","PASSWORD":["c"]}`), "password")
	f.Fuzz(func(t *testing.T, args []byte, path string) {
		for _, key := range [][]byte{nil, testKey} {
			got, err := audit.RedactArgs(args, []string{path}, key)
			if err != nil {
				require.Nil(t, got)
				continue
			}
			_, err = json.Marshal(got)
			require.NoError(t, err)
			// A plain top-level name is always redacted when present, even
			// "" or one with white space around it, and so is every key a
			// JSON decoder reads as it ("Password" for password).
			if strings.Contains(path, ".") || path == "*" {
				continue
			}
			for k, v := range got {
				if k != path && !jsonenc.EqualFoldName(k, path) {
					continue
				}
				s, isStr := v.(string)
				require.True(t, isStr, "%q as %q: %v", path, k, v)
				require.True(t, s == audit.Redacted || strings.HasPrefix(s, "hmac-sha256:"), s)
			}
		}
	})
}

// The decision said to redact the body; recording with a key keeps equal
// values recognisable without showing them.
func ExampleArgsRecorder() {
	rec, err := audit.NewArgsRecorder([]byte("0123456789abcdef-example-key"))
	if err != nil {
		panic(err)
	}
	args, err := rec.Record([]byte(`{"to":"bob@example.com","subject":"hi","body":"my password is hunter2"}`), []string{"call.args.body"})
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(args)
	fmt.Println(string(b))
	// Output:
	// {"body":"hmac-sha256:6ebd99603b5fed81bdb281733dc3894eb6f4d896612cf3ad0ff0fb0a1afb2a75","subject":"hi","to":"bob@example.com"}
}
