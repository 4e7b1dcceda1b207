package toolguard_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
)

// The arguments digest is keyed: whoever reads a span or a record cannot
// test guesses of the arguments against it, not even of the one argument a
// record redacts while it shows the others.
func TestArgsDigestIsKeyed(t *testing.T) {
	eng := testEngine(t)
	redactTo := deciderFunc(func(ctx context.Context, in *authz.Input) (authz.Decision, error) {
		d, err := eng.Decide(ctx, in)
		d.Redact = append(d.Redact, "call.args.to")
		return d, err
	})
	args := json.RawMessage(`{"to":"4821","url":"https://docs.example.com/a"}`)
	digestOf := func(opts ...toolguard.Option) (string, map[string]any) {
		f := newFixture(t, append([]toolguard.Option{toolguard.WithDecider(redactTo), toolguard.WithRecordArgs(nil)}, opts...)...)
		fn, err := toolguard.WrapJSON(f.guard, fetchTool, func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
		require.NoError(t, err)
		_, err = fn(context.Background(), args)
		require.NoError(t, err)
		rec := f.sink.last(t)
		seen := 0
		for _, s := range f.spans.Ended() {
			for _, a := range s.Attributes() {
				if a.Key == "ztagent.args.digest" {
					require.Equal(t, rec.ArgsDigest, a.Value.AsString(), "span and record name the arguments alike")
					seen++
				}
			}
		}
		require.Equal(t, 1, seen)
		return rec.ArgsDigest, rec.Args
	}

	d1, shown := digestOf()
	require.Equal(t, "[redacted]", shown["to"])
	plain := sha256.Sum256([]byte(`{"to":"4821","url":"https://docs.example.com/a"}`))
	require.NotContains(t, d1, hex.EncodeToString(plain[:]), "a plain hash would give the redacted value away")
	d2, _ := digestOf()
	require.NotEqual(t, d1, d2, "each guard makes up its own key")

	k1, _ := digestOf(toolguard.WithArgsDigestKey(testDigestKey))
	k2, _ := digestOf(toolguard.WithArgsDigestKey(testDigestKey))
	require.Equal(t, k1, k2, "one key, one digest: records of several guards compare")
	require.Equal(t, argsDigestOf([]byte(args)), k1)

	_, err := toolguard.New(context.Background(), toolguard.WithArgsDigestKey([]byte("short")))
	require.ErrorContains(t, err, "WithArgsDigestKey")
}
