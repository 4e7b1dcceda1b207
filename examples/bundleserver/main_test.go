package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/internal/bundletest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a log the test reads while run writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const agent = "spiffe://example.org/agent/support"

// Editing the data file suspends the agent in an engine polling the
// server, and a broken edit changes nothing.
func TestEditingTheDataSuspendsFleetWide(t *testing.T) {
	dir := t.TempDir()
	key := bundletest.NewKey(t)
	keyPath, dataPath := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "data.json")
	require.NoError(t, os.WriteFile(keyPath, []byte(key.Private), 0o600))
	write := func(data string) {
		// Renamed into place, as an editor saves: never read half written.
		tmp := dataPath + ".tmp"
		require.NoError(t, os.WriteFile(tmp, []byte(data), 0o600))
		require.NoError(t, os.Rename(tmp, dataPath))
	}
	grants := `{"agents": {"` + agent + `": {"tools": ["fetch"], "hosts": ["docs.example.com"]}}`
	write(grants + `}`)

	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-data", dataPath, "-signing-key", keyPath, "-reread", "50ms"}, &log, ready)
	}()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	base, resource, _ := strings.Cut(strings.TrimPrefix(url, "http://"), "/")
	start, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	eng, err := authz.New(start, authz.WithBundle(authz.BundleConfig{
		URL: "http://" + base, Resource: resource, Algorithm: "ES256",
		PublicKey: key.Public,
		MinDelay:  time.Minute, MaxDelay: time.Minute, LongPoll: 30 * time.Second,
	}))
	require.NoError(t, err)
	require.Empty(t, eng.Suspended().Agents)

	write(grants + `, "suspended": {"agents": ["` + agent + `"]}}`)
	require.Eventually(t, func() bool { return len(eng.Suspended().Agents) == 1 }, 20*time.Second, 10*time.Millisecond, log.String())
	require.Equal(t, []string{agent}, eng.Suspended().Agents)

	write(`{"suspended": `)
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "still serving the last bundle") }, 20*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{agent}, eng.Suspended().Agents, "a broken edit changes nothing")
	require.NoError(t, eng.Close())

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-data", "d.json"},
		{"-data", "d.json", "-signing-key", "k.pem", "extra"},
		{"-data", "d.json", "-signing-key", "k.pem", "-reread", "0s"},
		{"-nope"},
		{"-data", filepath.Join(t.TempDir(), "missing.json"), "-signing-key", filepath.Join(t.TempDir(), "missing.pem")},
	} {
		err := run(context.Background(), args, io.Discard, nil)
		require.Error(t, err, "%q", args)
	}
}
