package toolguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/toolguard"
)

// FuzzGuardInput: a guard whose policy allows everything — the worst
// policy — must still deny every call whose arguments cannot be frozen or
// whose destinations cannot be derived, before the policy is asked and
// without running the tool: never allow on error, never panic.
func FuzzGuardInput(f *testing.F) {
	ctx := context.Background()
	id, err := identity.NewDevSource(ctx)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = id.Close() })
	var asked atomic.Int32
	allow := deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
		asked.Add(1)
		return authz.Decision{Allow: true, Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: 5}}, nil
	})
	g, err := toolguard.New(ctx, toolguard.WithIdentity(id), toolguard.WithDecider(allow), toolguard.WithSink(&memSink{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = g.Close(context.Background()) })
	root := f.TempDir()
	var ran atomic.Int32
	fn, err := toolguard.WrapJSON(g, toolguard.Tool{Name: "t", Effect: toolguard.Read, Destinations: []toolguard.Dest{
		toolguard.URLArg("url"), toolguard.EmailArg("to"), toolguard.PathArg("path", root), toolguard.ArgvArg("argv"),
	}}, func(context.Context, json.RawMessage) (json.RawMessage, error) {
		ran.Add(1)
		return nil, nil
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"url":"https://docs.example.com/"}`, `{"url":"http://0x100.1/"}`, `{"url":"https://u@h/"}`, `{"to":"bob"}`,
		`{"path":"../x"}`, `{"argv":["-x"]}`, `{"url":1}`, `{"a":1} {"a":2}`, `{`, `{"url":["https://a.example/",null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		asked.Store(0)
		ran.Store(0)
		_, err := fn(ctx, raw)
		var d *toolguard.DeniedError
		if errors.As(err, &d) && (d.Code == toolguard.CodeBadArgs || d.Code == toolguard.CodeBadDestination) {
			if asked.Load() != 0 || ran.Load() != 0 {
				t.Fatalf("%q: denied %s, but the policy was asked %d times and the tool ran %d times", raw, d.Code, asked.Load(), ran.Load())
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: unexpected error %v", raw, err)
		}
		if ran.Load() != 1 || asked.Load() != 1 {
			t.Fatalf("%q: allowed, but the tool ran %d times and the policy was asked %d times", raw, ran.Load(), asked.Load())
		}
	})
}
