package toolguard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/toolguard"
)

// TestCallAfterTaskEndIsDenied: Task.End ends the task for every call, not
// only for the ones that share its credential.
func TestCallAfterTaskEndIsDenied(t *testing.T) {
	f := newFixture(t)
	var p probe
	fn := wrap(t, f.guard, fetchTool, p.fn)
	task := &toolguard.Task{ID: "t-1"}
	ctx := toolguard.WithTask(context.Background(), task)
	_, err := fn(ctx, DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.NoError(t, task.End(context.Background()))
	_, err = fn(ctx, DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeTaskEnded)
	require.Equal(t, int32(1), p.ran.Load())
	require.Equal(t, toolguard.CodeTaskEnded, f.sink.last(t).Code)
}

// TestSharedTaskCredentialKeepsTheDecisionsTTL: a call whose decision
// grants a short lifetime is never handed a longer-lived task credential.
func TestSharedTaskCredentialKeepsTheDecisionsTTL(t *testing.T) {
	ttl := 300
	dec := deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
		return authz.Decision{Allow: true, Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: ttl, Reuse: authz.ReuseTask}}, nil
	})
	f := newFixture(t, toolguard.WithDecider(dec))
	var p probe
	fn := wrap(t, f.guard, fetchTool, p.fn)
	task := &toolguard.Task{ID: "t-1"}
	t.Cleanup(func() { _ = task.End(context.Background()) })
	ctx := toolguard.WithTask(context.Background(), task)
	call := func() *creds.Credential {
		_, err := fn(ctx, DocArgs{URL: "https://docs.example.com/"})
		require.NoError(t, err)
		return p.cred
	}
	long := call()
	require.Equal(t, 300*time.Second, long.TTL())
	ttl = 5
	short := call()
	require.NotEqual(t, long.ID, short.ID)
	require.Equal(t, 5*time.Second, short.TTL())
	ttl = 300
	require.Equal(t, long.ID, call().ID, "the 300 s one is still shared by the calls granted 300 s")
}

// A tool reads the id of its own call from its context: the model's, or
// the one the guard made up; outside a guarded call there is none.
func TestToolReadsItsCallID(t *testing.T) {
	f := newFixture(t)
	var got []string
	fn := wrap(t, f.guard, fetchTool, func(ctx context.Context, _ DocArgs) (string, error) {
		id, ok := toolguard.CallID(ctx)
		require.True(t, ok)
		got = append(got, id)
		return "", nil
	})
	_, err := fn(toolguard.WithCall(context.Background(), "call_9"), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	_, err = fn(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.Equal(t, "call_9", got[0])
	require.Regexp(t, `^ztagent_[0-9a-f]{16}$`, got[1])
	require.Equal(t, got[1], f.sink.last(t).CallID, "the id the record names")
	_, ok := toolguard.CallID(toolguard.WithCall(context.Background(), "call_9"))
	require.False(t, ok, "not inside a guarded call")
}
