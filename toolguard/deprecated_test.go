package toolguard_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// The names that moved to egress still work from toolguard, and their
// refusals match either sentinel: code written before the move keeps
// working, whichever name it checks for.
func TestDeprecatedEgressForwards(t *testing.T) {
	require.Same(t, toolguard.ErrEgressDenied, egress.ErrEgressDenied)
	base, root := pathTree(t)
	vic, hits := victim(t)
	notes, err := egress.ResolvePath(root, "notes")
	require.NoError(t, err)
	ctx, grant := egress.WithGrant(context.Background(), []string{"Docs.Example.COM."}, false, []egress.File{notes})

	hosts, ok := toolguard.AllowedHosts(ctx)
	require.True(t, ok)
	require.Equal(t, []string{"docs.example.com"}, hosts)
	b, err := toolguard.ReadFile(ctx, "notes/a.txt")
	require.NoError(t, err)
	require.Equal(t, "ok", string(b))
	f, err := toolguard.OpenFile(ctx, filepath.Join(root, "notes", "a.txt"), os.O_RDONLY, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	client := &http.Client{Transport: toolguard.Transport(nil)}
	for what, err := range map[string]error{
		"request": get(client, vic.URL)(ctx),
		"dial":    toolguard.DialControl(ctx, "tcp", vic.Listener.Addr().String(), nil),
		"dialer": func() error {
			_, err := toolguard.Dialer().DialContext(ctx, "tcp", vic.Listener.Addr().String())
			return err
		}(),
		"read": func() error {
			_, err := toolguard.ReadFile(ctx, filepath.Join(base, "secret"))
			return err
		}(),
	} {
		require.ErrorIs(t, err, toolguard.ErrEgressDenied, what)
		require.ErrorIs(t, err, egress.ErrEgressDenied, what)
	}
	require.Zero(t, hits.Load())

	grant.End()
	_, ok = toolguard.AllowedHosts(ctx)
	require.False(t, ok)
	_, err = toolguard.ReadFile(ctx, "notes/a.txt")
	require.ErrorContains(t, err, "the guarded call has returned")
}
