// Package redistest runs a real redis-server (Debian's package, installed
// by the harness when missing) for tests: on a unix socket in a temporary
// directory, with nothing saved to disk, stopped by PID when the test ends.
package redistest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ztagent/ztagent/internal/proc"
	"github.com/ztagent/ztagent/internal/toolbuild"
)

// Server is one running redis-server.
type Server struct {
	Socket string // the unix socket it listens on
}

// Start starts redis-server and waits until it answers PING.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := toolbuild.RequireDebian(t, "redis-server", "redis-server")
	dir := proc.ShortTempDir(t, "redis")
	s := &Server{Socket: filepath.Join(dir, "redis.sock")}
	p := proc.Start(t, dir, "redis-server", bin, []string{
		"--port", "0", "--unixsocket", s.Socket, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
	})
	c := s.Client(t)
	if err := p.WaitFor(30*time.Second, "redis-server answers PING", func() error {
		return c.Ping(context.Background()).Err()
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Client returns a client of the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Socket})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
