package toolguard

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/creds"
)

// A credential issued for a task that ended meanwhile is refused by swap,
// under the lock End takes, so End never misses one.
func TestSharedSwapRefusedAfterTaskEnd(t *testing.T) {
	task := &Task{ID: "t"}
	sc := &sharedCred{task: task}
	require.True(t, sc.swap(&creds.Credential{ID: "a"}))
	task.mu.Lock()
	task.ended.Store(true)
	task.mu.Unlock()
	require.False(t, sc.swap(&creds.Credential{ID: "b"}))
	require.Equal(t, "a", sc.cur.Load().ID)
}

// Requests that differ share no credential, even where joining their parts
// with a separator would make them equal.
func TestSharedKeyIsUnambiguous(t *testing.T) {
	reqs := []creds.Request{
		{Subject: "s", Audience: "a", Scopes: []string{"x y"}},
		{Subject: "s", Audience: "a", Scopes: []string{"x", "y"}},
		{Subject: "s", Audience: "a", Delegation: []string{"u v"}},
		{Subject: "s", Audience: "a", Delegation: []string{"u", "v"}},
		{Subject: "s", Audience: "a", Scopes: []string{"u"}, Delegation: []string{"v"}},
		{Subject: "s", Audience: "a", Scopes: []string{"u", "v"}},
		{Subject: "s\x00a", Audience: ""},
		{Subject: "s", Audience: "\x00a"},
		{Subject: "s", Audience: "a", Scopes: []string{`"],["`}},
		{Subject: "s", Audience: "a", Scopes: []string{""}},
		{Subject: "s", Audience: "a"},
		// Two invalid UTF-8 bytes, and the replacement character, are three chains.
		{Subject: "s", Audience: "a", Delegation: []string{"u\xff"}},
		{Subject: "s", Audience: "a", Delegation: []string{"u\xfe"}},
		{Subject: "s", Audience: "a", Delegation: []string{"u\uFFFD"}},
	}
	seen := map[string]int{}
	for i, r := range reqs {
		k := string(appendSharedKey(nil, r))
		j, dup := seen[k]
		require.False(t, dup, "requests %d and %d share the key %q", j, i, k)
		seen[k] = i
	}
}
