package egress

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// openChecked is what runs after the symlink check: a symlink that appears
// in between (called here directly on one) truncates nothing and creates
// nothing before it is refused; plain files open with their usual flags.
func TestOpenCheckedSymlinkSwappedInDoesNoHarm(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return string(b)
	}
	write("secret", "secret")
	write("plain", "plain")
	require.NoError(t, os.Symlink("secret", filepath.Join(dir, "link")))
	require.NoError(t, os.Symlink("missing", filepath.Join(dir, "dangling")))
	r, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer r.Close()

	_, err = openChecked(r, "link", "link", os.O_WRONLY|os.O_TRUNC, 0)
	require.ErrorContains(t, err, "symlink")
	require.ErrorIs(t, err, ErrEgressDenied)
	require.Equal(t, "secret", read("secret"), "not truncated through the symlink")
	_, err = openChecked(r, "dangling", "dangling", os.O_WRONLY|os.O_CREATE, 0o600)
	require.Error(t, err)
	_, err = os.Lstat(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing created through the symlink")

	f, err := openChecked(r, "plain", "plain", os.O_WRONLY|os.O_TRUNC, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Empty(t, read("plain"), "O_TRUNC still truncates a plain file")
	f, err = openChecked(r, "new", "new", os.O_WRONLY|os.O_CREATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	f, err = openChecked(r, "new", "new", os.O_WRONLY|os.O_CREATE, 0o600)
	require.NoError(t, err, "O_CREATE opens an existing file too")
	require.NoError(t, f.Close())
	_, err = openChecked(r, "new", "new", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	require.ErrorIs(t, err, os.ErrExist)
	require.NotErrorIs(t, err, ErrEgressDenied, "the file system's own answer")
}
