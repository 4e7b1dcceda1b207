package toolguard_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/internal/fakeclock"
	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

const agentID = "spiffe://ztagent.dev/agent/test"

// policyData grants the test agent a set of tools and hosts under the
// embedded default policy.
var policyData = []byte(`{
  "agents": {"` + agentID + `": {
    "tools": ["read_doc", "fetch", "send_email", "drop_table", "upload"],
    "hosts": ["docs.example.com", "example.com"]}},
  "tools": {"send_email": {"scopes": ["email:send"]}},
  "credential_ttl_seconds": 30
}`)

// memSink keeps records in memory.
type memSink struct {
	mu   sync.Mutex
	recs []audit.Record
	err  error
}

func (s *memSink) Write(_ context.Context, r *audit.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, *r)
	return s.err
}

func (s *memSink) all() []audit.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]audit.Record(nil), s.recs...)
}

func (s *memSink) last(t *testing.T) audit.Record {
	t.Helper()
	all := s.all()
	require.NotEmpty(t, all, "no decision record written")
	return all[len(all)-1]
}

// fixture is a guard on the real embedded components, with a controllable
// clock and recorders on every output.
type fixture struct {
	guard  *toolguard.Guard
	id     *identity.DevSource
	minter *creds.Minter
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	sink   *memSink
	now    *fakeclock.Clock
}

func newClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
}

// testEngine is the default policy over policyData. Its deadline is generous:
// tests share two cores with parallel builds under -race, and the deadline
// itself is tested in package authz.
func testEngine(t *testing.T) *authz.Engine {
	t.Helper()
	eng, err := authz.New(context.Background(), authz.WithDataJSON(policyData), authz.WithTimeout(30*time.Second))
	require.NoError(t, err)
	return eng
}

func newFixture(t *testing.T, opts ...toolguard.Option) *fixture {
	t.Helper()
	return newFixtureAt(t, nil, opts...)
}

// newFixtureAt builds the fixture on the clock now (f.now's fake clock when
// nil). The guard, the minter and the dev identity read that one clock: a
// guard on real time with a minter on the fake one would see every
// credential expired once real time passes the fake one.
func newFixtureAt(t *testing.T, now func() time.Time, opts ...toolguard.Option) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{spans: tracetest.NewSpanRecorder(), sink: &memSink{}, now: newClock()}
	if now == nil {
		now = f.now.Now
	}
	var err error
	f.id, err = identity.NewDevSource(ctx, identity.WithWorkloadPath("/agent/test"), identity.WithClock(now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.id.Close() })
	f.minter, err = creds.NewMinter(creds.WithClock(now))
	require.NoError(t, err)
	f.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	t.Cleanup(func() { _ = f.tp.Shutdown(context.Background()) })
	base := []toolguard.Option{
		toolguard.WithIdentity(f.id),
		toolguard.WithCredentialIssuer(f.minter),
		toolguard.WithDecider(testEngine(t)),
		toolguard.WithTracerProvider(f.tp),
		toolguard.WithSink(f.sink),
		toolguard.WithClock(now),
	}
	f.guard, err = toolguard.New(ctx, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.guard.Close(context.Background()) })
	return f
}

// testDigestKey is the arguments-digest key of the guards whose digests a
// test recomputes with argsDigestOf.
var testDigestKey = []byte("a test key for argument digests!")

// argsDigestOf is the arguments digest of canon under testDigestKey,
// computed here without the package's code.
func argsDigestOf(canon []byte) string {
	m := hmac.New(sha256.New, testDigestKey)
	m.Write(canon)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

type DocArgs struct {
	URL  string            `json:"url,omitempty"`
	To   string            `json:"to,omitempty"`
	Path string            `json:"path,omitempty"`
	Tags map[string]string `json:"tags,omitempty"`
}

// probe is a tool function that remembers whether and how it ran.
// probe is a tool that notes what it got: its arguments, credential and
// granted hosts, as they were during the call (a grant ends with it).
type probe struct {
	ran     atomic.Int32
	cred    *creds.Credential
	args    DocArgs
	hosts   []string
	granted bool
}

func (p *probe) fn(ctx context.Context, a DocArgs) (string, error) {
	p.ran.Add(1)
	p.cred, _ = creds.FromContext(ctx)
	p.args = a
	p.hosts, p.granted = egress.AllowedHosts(ctx)
	return "done", nil
}

func wrap(t *testing.T, g *toolguard.Guard, tool toolguard.Tool, fn func(context.Context, DocArgs) (string, error)) func(context.Context, DocArgs) (string, error) {
	t.Helper()
	w, err := toolguard.Wrap(g, tool, fn)
	require.NoError(t, err)
	return w
}

func requireDenied(t *testing.T, err error, code string) *toolguard.DeniedError {
	t.Helper()
	var d *toolguard.DeniedError
	require.Truef(t, errors.As(err, &d), "want *DeniedError, got %v", err)
	require.Equal(t, code, d.Code, "reason: %s", d.Reason)
	require.NotEmpty(t, d.Reason)
	return d
}

// deciderFunc adapts a function to authz.Decider, to inject faults.
type deciderFunc func(ctx context.Context, in *authz.Input) (authz.Decision, error)

func (f deciderFunc) Decide(ctx context.Context, in *authz.Input) (authz.Decision, error) {
	return f(ctx, in)
}

func allowAll(approval bool) deciderFunc {
	return func(_ context.Context, in *authz.Input) (authz.Decision, error) {
		return authz.Decision{
			Allow:      true,
			Approval:   authz.Approval{Required: approval},
			Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: 10},
			Revision:   "sha256:test",
		}, nil
	}
}

// issuerFunc lets a test break issuing or revoking.
type faultyIssuer struct {
	creds.Issuer
	issueErr, revokeErr error
	revoked             atomic.Int32
}

func (f *faultyIssuer) Issue(ctx context.Context, r creds.Request) (*creds.Credential, error) {
	if f.issueErr != nil {
		return nil, f.issueErr
	}
	return f.Issuer.Issue(ctx, r)
}

func (f *faultyIssuer) Revoke(ctx context.Context, id string) error {
	f.revoked.Add(1)
	if f.revokeErr != nil {
		return f.revokeErr
	}
	return f.Issuer.Revoke(ctx, id)
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// grantingDecider allows every call and grants egress to hosts, private
// addresses too when allowPrivate.
func grantingDecider(allowPrivate bool, hosts ...string) authz.Decider {
	return deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
		return authz.Decision{
			Allow:      true,
			Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: 10},
			Egress:     authz.Egress{Hosts: hosts, AllowPrivate: allowPrivate},
		}, nil
	})
}
