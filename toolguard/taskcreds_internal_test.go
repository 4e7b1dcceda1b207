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
	task.ended = true
	task.mu.Unlock()
	require.False(t, sc.swap(&creds.Credential{ID: "b"}))
	require.Equal(t, "a", sc.cur.Load().ID)
}
