// Package spiretest runs a real SPIRE server and agent for tests: built from
// the Go module proxy at the version pinned in internal/tools/spire, started
// on loopback and unix sockets in a temp dir, with join_token node
// attestation and the unix workload attestor, and stopped by PID when the
// test ends.
package spiretest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ztagent/ztagent/internal/proc"
	"github.com/ztagent/ztagent/internal/toolbuild"
)

// TrustDomain is the trust domain of the test SPIRE deployment.
const TrustDomain = "ztagent.dev"

// NodeID is the alias SPIFFE ID of the test agent, the parent of workload
// registrations.
const NodeID = "spiffe://" + TrustDomain + "/node/test"

// The trust domain is fixed by examples/spire/server.conf.

var (
	serverProgram = toolbuild.Program{Module: "internal/tools/spire", Pkg: "github.com/spiffe/spire/cmd/spire-server", Name: "spire-server"}
	agentProgram  = toolbuild.Program{Module: "internal/tools/spire", Pkg: "github.com/spiffe/spire/cmd/spire-agent", Name: "spire-agent"}
)

// SPIRE is one running server and agent.
type SPIRE struct {
	t         testing.TB
	dir       string
	serverBin string
	agentBin  string
	server    *proc.Proc
	agent     *proc.Proc
	port      int
}

// Start builds (once, cached) and starts a SPIRE server and agent, and waits
// until both are healthy. Skipped under -short.
func Start(t testing.TB) *SPIRE {
	t.Helper()
	s := &SPIRE{t: t}
	s.serverBin = toolbuild.Require(t, serverProgram)
	s.agentBin = toolbuild.Require(t, agentProgram)
	s.dir = proc.ShortTempDir(t, "spire")
	for _, d := range []string{"server-data", "agent-data", "public"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.server = proc.StartRetrying(t, func() (*proc.Proc, error) {
		s.port = proc.FreePort(t)
		// The example's configs are the ones tested: what a user runs is what CI runs.
		s.writeConf("server.conf")
		s.writeConf("agent.conf")
		p := proc.Start(t, s.dir, "spire-server", s.serverBin, []string{"run", "-config", s.path("server.conf")})
		return p, s.healthy(p, s.serverBin, "-socketPath", s.serverSocket())
	})

	token := strings.TrimSpace(strings.TrimPrefix(s.cli("token", "generate", "-spiffeID", NodeID, "-ttl", "600"), "Token:"))
	bundle := s.cli("bundle", "show")
	s.write("bundle.pem", bundle)
	s.agent = proc.Start(t, s.dir, "spire-agent", s.agentBin, []string{"run", "-config", s.path("agent.conf"), "-joinToken", token})
	s.waitHealthy(s.agent, s.agentBin, "-socketPath", s.AgentSocketPath())
	return s
}

// Addr is the Workload API address, for SPIFFE_ENDPOINT_SOCKET.
func (s *SPIRE) Addr() string { return "unix://" + s.AgentSocketPath() }

// AgentSocketPath is the Workload API socket.
func (s *SPIRE) AgentSocketPath() string { return s.path("public/agent.sock") }

// Register creates a registration entry for this test process (by uid, the
// unix workload attestor) with the given SPIFFE ID and X.509-SVID TTL.
func (s *SPIRE) Register(spiffeID string, x509TTL time.Duration) {
	s.t.Helper()
	s.cli("entry", "create",
		"-parentID", NodeID,
		"-spiffeID", spiffeID,
		"-selector", "unix:uid:"+strconv.Itoa(os.Getuid()),
		"-x509SVIDTTL", strconv.Itoa(int(x509TTL.Seconds())),
		"-jwtSVIDTTL", "300",
	)
}

// StopAgent stops the agent (SIGTERM), as an agent restart or crash would.
func (s *SPIRE) StopAgent() {
	s.t.Helper()
	s.agent.Stop()
}

// StartAgent starts the agent again on the same data dir and socket; it
// rejoins with the SVID it stored, not a new join token.
func (s *SPIRE) StartAgent() {
	s.t.Helper()
	_ = os.Remove(s.AgentSocketPath())
	s.agent = proc.Start(s.t, s.dir, "spire-agent-restarted", s.agentBin, []string{"run", "-config", s.path("agent.conf")})
	s.waitHealthy(s.agent, s.agentBin, "-socketPath", s.AgentSocketPath())
}

func (s *SPIRE) cli(args ...string) string {
	s.t.Helper()
	args = append(args, "-socketPath", s.serverSocket())
	out, err := proc.Run(context.Background(), s.serverBin, args...)
	if err != nil {
		s.t.Fatalf("spiretest: %v", err)
	}
	return out
}

func (s *SPIRE) waitHealthy(p *proc.Proc, bin string, args ...string) {
	s.t.Helper()
	if err := s.healthy(p, bin, args...); err != nil {
		s.t.Fatalf("spiretest: %v", err)
	}
}

func (s *SPIRE) healthy(p *proc.Proc, bin string, args ...string) error {
	return p.WaitFor(2*time.Minute, p.Name+" healthy", func() error {
		_, err := proc.Run(context.Background(), bin, append([]string{"healthcheck"}, args...)...)
		return err
	})
}

func (s *SPIRE) serverSocket() string { return s.path("server.sock") }

func (s *SPIRE) path(p string) string { return filepath.Join(s.dir, p) }

// writeConf fills the placeholders of examples/spire/<name> into the temp dir.
func (s *SPIRE) writeConf(name string) {
	s.t.Helper()
	root, err := toolbuild.RepoRoot()
	if err != nil {
		s.t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "examples", "spire", name))
	if err != nil {
		s.t.Fatal(err)
	}
	conf := strings.NewReplacer("@DIR@", s.dir, "@PORT@", strconv.Itoa(s.port)).Replace(string(tmpl))
	s.write(name, conf)
}

func (s *SPIRE) write(name, content string) {
	s.t.Helper()
	if err := os.WriteFile(s.path(name), []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
}
