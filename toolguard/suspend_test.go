package toolguard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
)

// taskCredDecider allows every call with a credential the task's calls
// share, so a task holds one between its calls.
var taskCredDecider = deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
	return authz.Decision{Allow: true, Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: 60, Reuse: authz.ReuseTask}}, nil
})

func TestSuspendAgentAndTask(t *testing.T) {
	f := newFixture(t, toolguard.WithDecider(taskCredDecider))
	var p probe
	fn := wrap(t, f.guard, fetchTool, p.fn)
	t1, t2 := &toolguard.Task{ID: "t-1"}, &toolguard.Task{ID: "t-2"}
	t.Cleanup(func() { _ = t1.End(context.Background()); _ = t2.End(context.Background()) })
	call := func(task *toolguard.Task) error {
		_, err := fn(toolguard.WithTask(context.Background(), task), DocArgs{URL: "https://docs.example.com/"})
		return err
	}
	require.NoError(t, call(t1))
	held := p.cred
	require.NoError(t, call(t2))

	// A task: its calls are denied, its credential revoked; others run.
	require.NoError(t, f.guard.Suspend(context.Background(), toolguard.Suspension{Task: "t-1"}))
	requireDenied(t, call(t1), toolguard.CodeTaskSuspended)
	revoked, err := f.minter.Revoked(context.Background(), held.ID)
	require.NoError(t, err)
	require.True(t, revoked, "the suspended task's credential is revoked")
	require.NoError(t, call(t2))
	require.Equal(t, toolguard.CodeTaskSuspended, f.sink.all()[2].Code)

	// The agent: every call of it.
	require.NoError(t, f.guard.Suspend(context.Background(), toolguard.Suspension{Agent: agentID}))
	requireDenied(t, call(t2), toolguard.CodeAgentSuspended)
	_, err = fn(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeAgentSuspended)

	require.NoError(t, f.guard.Resume(toolguard.Suspension{Agent: agentID}))
	require.NoError(t, f.guard.Resume(toolguard.Suspension{Task: "t-1"}))
	require.NoError(t, call(t1), "resumed; a fresh credential is issued")
	require.NotEqual(t, held.ID, p.cred.ID)

	require.Error(t, f.guard.Suspend(context.Background(), toolguard.Suspension{}))
	require.Error(t, f.guard.Suspend(context.Background(), toolguard.Suspension{Agent: "a", Task: "t"}))
}

// A suspension the policy reports (the fleet's kill switch, as data)
// denies, and revokes the task credentials of what it suspends.
func TestPolicySuspensionRevokesTaskCredentials(t *testing.T) {
	suspended := false
	dec := deciderFunc(func(_ context.Context, in *authz.Input) (authz.Decision, error) {
		if suspended {
			return authz.Decision{Reasons: []authz.Reason{{Code: "agent_suspended", Message: "suspended"}}}, nil
		}
		return taskCredDecider(context.Background(), in)
	})
	f := newFixture(t, toolguard.WithDecider(dec))
	var p probe
	fn := wrap(t, f.guard, fetchTool, p.fn)
	task := &toolguard.Task{ID: "t-1"}
	t.Cleanup(func() { _ = task.End(context.Background()) })
	ctx := toolguard.WithTask(context.Background(), task)
	_, err := fn(ctx, DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	held := p.cred
	suspended = true
	_, err = fn(ctx, DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeAgentSuspended)
	require.Eventually(t, func() bool {
		r, err := f.minter.Revoked(context.Background(), held.ID)
		return err == nil && r
	}, 5*time.Second, 10*time.Millisecond)
}

// A fleet's kill switch reaches a guard as policy data: once the engine
// loads data.suspended naming the agent, the task credentials it holds
// are revoked without waiting for its next call.
func TestPolicyReloadRevokesSuspendedCredentials(t *testing.T) {
	const module = `package ztagent
decision := {"allow": true, "credential": {"audience": "urn:test", "ttl_seconds": 60, "reuse": "task"}}`
	ctx := context.Background()
	eng, err := authz.New(ctx, authz.WithModule("allow.rego", module))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	f := newFixture(t, toolguard.WithDecider(eng))
	var p probe
	fn := wrap(t, f.guard, fetchTool, p.fn)
	held := map[string]string{}
	for _, id := range []string{"t-1", "t-2"} {
		task := &toolguard.Task{ID: id}
		t.Cleanup(func() { _ = task.End(context.Background()) })
		_, err := fn(toolguard.WithTask(ctx, task), DocArgs{URL: "https://docs.example.com/"})
		require.NoError(t, err)
		held[id] = p.cred.ID
	}
	revoked := func(id string) bool {
		r, err := f.minter.Revoked(ctx, held[id])
		require.NoError(t, err)
		return r
	}

	load := func(data string) {
		require.NoError(t, eng.Load(ctx, authz.PolicySet{
			Modules: map[string]string{"allow.rego": module}, Data: []byte(data)}))
	}
	load(`{"suspended": {"tasks": ["t-1", 7], "agents": "not a list"}}`)
	require.Equal(t, authz.Suspended{Tasks: []string{"t-1"}}, eng.Suspended())
	require.Eventually(t, func() bool { return revoked("t-1") }, 5*time.Second, 5*time.Millisecond)
	require.False(t, revoked("t-2"), "a task the data does not name keeps its credential")

	load(`{"suspended": {"agents": ["` + agentID + `"]}}`)
	require.Eventually(t, func() bool { return revoked("t-2") }, 5*time.Second, 5*time.Millisecond)
	require.EqualValues(t, 2, f.guard.Stats().SuspendRevokes)
}
