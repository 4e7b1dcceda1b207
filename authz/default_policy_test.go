package authz_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

func quickstartEngine(t *testing.T) *authz.Engine {
	t.Helper()
	e, err := authz.New(context.Background(), authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	return e
}

func codesOf(d authz.Decision) []string {
	out := make([]string, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func TestDefaultPolicyOnRealisticInputs(t *testing.T) {
	t.Parallel()
	e := quickstartEngine(t)
	url := func(host string) authz.Destination {
		return authz.Destination{Kind: "url", Scheme: "https", Host: host, Port: 443}
	}
	past := decisionTime.Add(-time.Minute)
	future := decisionTime.Add(time.Hour)

	tests := []struct {
		name     string
		edit     func(in *authz.Input)
		allow    bool
		codes    []string
		approval bool
		audience string
		scopes   []string
		hosts    []string
	}{
		{
			name:     "read a local file",
			edit:     func(*authz.Input) {},
			allow:    true,
			codes:    []string{"allowed"},
			audience: "urn:ztagent:tool:read_file",
			scopes:   []string{"read_file:read"},
			hosts:    []string{},
		},
		{
			name: "fetch an allowed page",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "fetch_url", Effect: "read", Risk: "low"}
				in.Call.Destinations = []authz.Destination{url("docs.example.com")}
			},
			allow:    true,
			codes:    []string{"allowed"},
			audience: "https://docs.example.com",
			scopes:   []string{"web:fetch"},
			hosts:    []string{"docs.example.com"},
		},
		{
			name: "fetch from an attacker host",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "fetch_url", Effect: "read", Risk: "low"}
				in.Call.Destinations = []authz.Destination{url("exfil.attacker.example")}
			},
			codes: []string{"destination_not_allowed"},
		},
		{
			name: "send email after reading the web",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "send_email", Effect: "external", Risk: "high"}
				in.Call.Destinations = []authz.Destination{{Kind: "email", Address: "bob@mail.example.com", Host: "mail.example.com"}}
				in.Context.Taint = []string{"untrusted:web"}
			},
			allow:    true,
			codes:    []string{"high_risk_requires_approval", "tainted_context_requires_approval"},
			approval: true,
			audience: "https://mail.example.com",
			scopes:   []string{"email:send"},
			hosts:    []string{"mail.example.com"},
		},
		{
			name: "delete a record",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "delete_record", Effect: "destructive", Risk: "medium"}
				in.Call.Destinations = nil
			},
			allow:    true,
			codes:    []string{"write_requires_approval"},
			approval: true,
			audience: "urn:ztagent:tool:delete_record",
			scopes:   []string{"delete_record:destructive"},
			hosts:    []string{},
		},
		{
			name:  "tool the agent was not granted",
			edit:  func(in *authz.Input) { in.Tool = authz.Tool{Name: "shell", Effect: "destructive", Risk: "high"} },
			codes: []string{"tool_not_granted"},
		},
		{
			name:  "another agent",
			edit:  func(in *authz.Input) { in.Subject.SPIFFEID = "spiffe://ztagent.dev/agent/intruder" },
			codes: []string{"tool_not_granted"},
		},
		{
			name:  "expired task",
			edit:  func(in *authz.Input) { in.Task.ExpiresAt = &past },
			codes: []string{"task_expired"},
		},
		{
			name:     "live task",
			edit:     func(in *authz.Input) { in.Task.ExpiresAt = &future },
			allow:    true,
			codes:    []string{"allowed"},
			audience: "urn:ztagent:tool:read_file",
			scopes:   []string{"read_file:read"},
			hosts:    []string{},
		},
		{
			name:  "unknown effect",
			edit:  func(in *authz.Input) { in.Tool.Effect = "execute" },
			codes: []string{"unknown_effect"},
		},
		{
			name: "external with no destination",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "send_email", Effect: "external", Risk: "low"}
				in.Call.Destinations = nil
			},
			codes: []string{"external_without_destination"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := readInput()
			tc.edit(in)
			d, err := e.Decide(context.Background(), in)
			require.NoError(t, err)
			require.Equal(t, tc.allow, d.Allow)
			require.Equal(t, tc.codes, codesOf(d))
			require.NotNil(t, d.Redact)
			require.Empty(t, d.Redact)
			if !tc.allow {
				return
			}
			require.Equal(t, tc.approval, d.Approval.Required)
			require.Equal(t, authz.CredentialGrant{Audience: tc.audience, Scopes: tc.scopes, TTLSeconds: 60}, d.Credential)
			require.Equal(t, tc.hosts, d.Egress.Hosts)
		})
	}
}

// A denial names the agent and the entry of the data it was looked up in,
// and tells an agent with no entry at all from one whose entry lacks the
// tool or host: the first is usually grants written for another identity.
func TestDefaultPolicyDenialsNameTheAgent(t *testing.T) {
	t.Parallel()
	e := quickstartEngine(t)
	const other = "spiffe://ztagent.dev/agent/default"
	tests := []struct {
		name    string
		edit    func(in *authz.Input)
		reasons []authz.Reason
	}{
		{
			name: "tool missing from the agent's entry",
			edit: func(in *authz.Input) { in.Tool.Name = "shell" },
			reasons: []authz.Reason{{Code: "tool_not_granted",
				Message: `tool "shell" is not granted to agent "` + quickstartAgent + `": it is not in data.agents["` + quickstartAgent + `"].tools`}},
		},
		{
			name: "agent with no entry",
			edit: func(in *authz.Input) { in.Subject.SPIFFEID = other },
			reasons: []authz.Reason{{Code: "tool_not_granted",
				Message: `tool "read_file" is not granted: no grants for agent "` + other + `" in data.agents`}},
		},
		{
			name: "host missing from the agent's entry",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "fetch_url", Effect: "read", Risk: "low"}
				in.Call.Destinations = []authz.Destination{{Kind: "url", Scheme: "https", Host: "evil.example", Port: 443}}
			},
			reasons: []authz.Reason{{Code: "destination_not_allowed",
				Message: `destination host "evil.example" is not allowed for agent "` + quickstartAgent + `": it is not in data.agents["` + quickstartAgent + `"].hosts`}},
		},
		{
			name: "host for an agent with no entry",
			edit: func(in *authz.Input) {
				in.Subject.SPIFFEID = other
				in.Call.Destinations = []authz.Destination{{Kind: "url", Scheme: "https", Host: "docs.example.com", Port: 443}}
			},
			reasons: []authz.Reason{
				{Code: "tool_not_granted", Message: `tool "read_file" is not granted: no grants for agent "` + other + `" in data.agents`},
				{Code: "destination_not_allowed", Message: `destination host "docs.example.com" is not allowed: no grants for agent "` + other + `" in data.agents`},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := readInput()
			tc.edit(in)
			d, err := e.Decide(context.Background(), in)
			require.NoError(t, err)
			require.False(t, d.Allow)
			require.Equal(t, tc.reasons, d.Reasons)
		})
	}
}

// private_hosts lets the guard reach private addresses for the hosts it
// names, and for no other: egress.allow_private holds for every granted name
// of a call, so it is set only when every host the call reaches is listed.
func TestDefaultPolicyPrivateHosts(t *testing.T) {
	t.Parallel()
	const other = "spiffe://ztagent.dev/agent/other"
	e, err := authz.New(context.Background(), authz.WithTimeout(testTimeout), authz.WithDataJSON([]byte(`{
  "agents": {
    "`+quickstartAgent+`": {
      "tools": ["fetch_url"],
      "hosts": ["docs.example.com", "internal.example", "localhost"],
      "private_hosts": ["Internal.Example", "localhost", "stray.example"]
    },
    "`+other+`": {"tools": ["fetch_url"], "hosts": ["internal.example"]}
  },
  "private_hosts": ["docs.example.com"]
}`)))
	require.NoError(t, err)
	tests := []struct {
		name    string
		subject string
		hosts   []string
		allow   bool
		egress  authz.Egress
		code    string
	}{
		{name: "one private host", hosts: []string{"internal.example"}, allow: true,
			egress: authz.Egress{Hosts: []string{"internal.example"}, AllowPrivate: true}},
		{name: "two private hosts", hosts: []string{"LOCALHOST", "internal.example"}, allow: true,
			egress: authz.Egress{Hosts: []string{"internal.example", "localhost"}, AllowPrivate: true}},
		{name: "private host mixed with another granted host", hosts: []string{"internal.example", "docs.example.com"}, allow: true,
			egress: authz.Egress{Hosts: []string{"docs.example.com", "internal.example"}}},
		{name: "granted host not listed private, top-level private_hosts not read", hosts: []string{"docs.example.com"}, allow: true,
			egress: authz.Egress{Hosts: []string{"docs.example.com"}}},
		{name: "private host not in hosts", hosts: []string{"stray.example"}, code: "destination_not_allowed"},
		{name: "another agent's private host", subject: other, hosts: []string{"internal.example"}, allow: true,
			egress: authz.Egress{Hosts: []string{"internal.example"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := readInput()
			if tc.subject != "" {
				in.Subject.SPIFFEID = tc.subject
			}
			in.Tool = authz.Tool{Name: "fetch_url", Effect: "read", Risk: "low"}
			in.Call.Destinations = nil
			for _, h := range tc.hosts {
				in.Call.Destinations = append(in.Call.Destinations, authz.Destination{Kind: "url", Scheme: "https", Host: h, Port: 443})
			}
			d, err := e.Decide(context.Background(), in)
			require.NoError(t, err)
			require.Equal(t, tc.allow, d.Allow, "%v", d.Reasons)
			if !tc.allow {
				require.Equal(t, tc.code, d.Reasons[0].Code)
				require.False(t, d.Egress.AllowPrivate)
				return
			}
			require.Equal(t, tc.egress, d.Egress)
		})
	}
}

// approvalData sets a per-tool approval for each kind of setting.
const approvalData = `{
  "agents": {
    "` + quickstartAgent + `": {
      "tools": ["read_file", "fetch_url", "send_email", "delete_record"],
      "hosts": ["docs.example.com"]
    }
  },
  "tools": {
    "read_file": {"approval": "always"},
    "delete_record": {"approval": "never", "scopes": ["records:delete"]},
    "fetch_url": {"approval": "Never"},
    "send_email": {"approval": null}
  }
}`

// data.tools[<name>].approval: "always" asks for a human even on a read,
// "never" on no call (deny rules still decide first), absent or null is by
// effect, and any other value is read as "always".
func TestDefaultPolicyToolApprovalSetting(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(), authz.WithDataJSON([]byte(approvalData)), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	past := decisionTime.Add(-time.Minute)
	tests := []struct {
		name     string
		edit     func(in *authz.Input)
		allow    bool
		approval authz.Approval
		reasons  []authz.Reason
	}{
		{
			name:     "always: a read needs approval",
			edit:     func(*authz.Input) {},
			allow:    true,
			approval: authz.Approval{Required: true, Reason: "tool_setting_requires_approval"},
			reasons:  []authz.Reason{{Code: "tool_setting_requires_approval", Message: `data.tools["read_file"].approval is "always"`}},
		},
		{
			name: "never: a destructive, high-risk call after untrusted content needs none",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "delete_record", Effect: "destructive", Risk: "high"}
				in.Context.Taint = []string{"untrusted:web"}
			},
			allow:   true,
			reasons: []authz.Reason{{Code: "allowed", Message: "tool call allowed by policy"}},
		},
		{
			name: "never: deny rules still decide",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "delete_record", Effect: "destructive", Risk: "low"}
				in.Task.ExpiresAt = &past
			},
			reasons: []authz.Reason{{Code: "task_expired", Message: "the task has expired"}},
		},
		{
			name: "unknown value: read as always",
			edit: func(in *authz.Input) {
				in.Tool = authz.Tool{Name: "fetch_url", Effect: "read", Risk: "low"}
				in.Call.Destinations = []authz.Destination{{Kind: "url", Scheme: "https", Host: "docs.example.com", Port: 443}}
			},
			allow:    true,
			approval: authz.Approval{Required: true, Reason: "unknown_approval_setting_requires_approval"},
			reasons: []authz.Reason{{Code: "unknown_approval_setting_requires_approval",
				Message: `data.tools["fetch_url"].approval is "Never", not "always" or "never"; read as "always"`}},
		},
		{
			name:     "null: by effect",
			edit:     func(in *authz.Input) { in.Tool = authz.Tool{Name: "send_email", Effect: "write", Risk: "low"} },
			allow:    true,
			approval: authz.Approval{Required: true, Reason: "write_requires_approval"},
			reasons:  []authz.Reason{{Code: "write_requires_approval", Message: `tool effect "write" changes state`}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := readInput()
			tc.edit(in)
			d, err := e.Decide(context.Background(), in)
			require.NoError(t, err)
			require.Equal(t, tc.allow, d.Allow)
			require.Equal(t, tc.reasons, d.Reasons)
			if tc.allow {
				require.Equal(t, tc.approval, d.Approval)
			}
		})
	}
}

// A read that needs approval on every call is never served from the
// decision cache: each call must reach a human. A read whose setting is
// "never" is reused like any other.
func TestDefaultPolicyToolApprovalAndTheDecisionCache(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(), authz.WithDataJSON([]byte(approvalData)), authz.WithTimeout(testTimeout),
		authz.WithDecisionCache(16))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })

	always := readInput()
	for range 3 {
		d, err := e.Decide(context.Background(), always)
		require.NoError(t, err)
		require.True(t, d.Approval.Required)
		require.False(t, d.Cached)
		require.Zero(t, d.CacheTTL)
	}
	_, ok := e.CachedDecision(context.Background(), always)
	require.False(t, ok)

	never := readInput()
	never.Tool = authz.Tool{Name: "delete_record", Effect: "read", Risk: "high"}
	var d authz.Decision
	for range 3 {
		d, err = e.Decide(context.Background(), never)
		require.NoError(t, err)
		require.False(t, d.Approval.Required)
	}
	require.True(t, d.Cached)
}

// "never" lifts the default library's approval rules, not the ones a
// deployer adds beside them.
func TestDefaultPolicyToolApprovalNeverKeepsExtensionRules(t *testing.T) {
	t.Parallel()
	opts := []authz.Option{authz.WithDataJSON([]byte(approvalData)), authz.WithTimeout(testTimeout)}
	for name, src := range authz.DefaultPolicy() {
		opts = append(opts, authz.WithModule(name, src))
	}
	opts = append(opts, authz.WithModule("extra.rego", `package ztagent
approval_reasons contains {"code": "records_need_a_ticket", "message": "deleting a record needs a ticket"} if {
	input.tool.name == "delete_record"
}`))
	e, err := authz.New(context.Background(), opts...)
	require.NoError(t, err)
	in := readInput()
	in.Tool = authz.Tool{Name: "delete_record", Effect: "destructive", Risk: "high"}
	d, err := e.Decide(context.Background(), in)
	require.NoError(t, err)
	require.True(t, d.Allow)
	require.Equal(t, authz.Approval{Required: true, Reason: "records_need_a_ticket"}, d.Approval)
}

// A zero Input (nil slices everywhere) is a valid, denied request, not an
// evaluation error: nil slices reach the policy as empty arrays.
func TestDefaultPolicyZeroInput(t *testing.T) {
	t.Parallel()
	d, err := quickstartEngine(t).Decide(context.Background(), &authz.Input{})
	require.NoError(t, err)
	require.False(t, d.Allow)
	require.Contains(t, codesOf(d), "tool_not_granted")
}

// A task expiry with no decision time cannot be checked: the policy's time
// builtin fails and strict mode turns that into a denial.
func TestDefaultPolicyExpiryWithoutTimeDenies(t *testing.T) {
	t.Parallel()
	in := readInput()
	in.Time = time.Time{}
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	in.Task.ExpiresAt = &exp
	d, err := quickstartEngine(t).Decide(context.Background(), in)
	require.False(t, d.Allow)
	require.Equal(t, authz.CodeEvalError, authz.CodeOf(err))
	require.ErrorContains(t, err, "time.parse_rfc3339_ns")
}

func TestDefaultPolicyWithoutDataDeniesEverything(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	d, err := e.Decide(context.Background(), readInput())
	require.NoError(t, err)
	require.False(t, d.Allow)
	require.Equal(t, []string{"tool_not_granted"}, codesOf(d))
}

func TestDecideConcurrently(t *testing.T) {
	t.Parallel()
	e := quickstartEngine(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				in := readInput()
				want := true
				if (g+i)%2 == 1 {
					in.Tool.Name = "shell"
					want = false
				}
				d, err := e.Decide(context.Background(), in)
				if err != nil {
					errs <- err
					return
				}
				if d.Allow != want {
					errs <- fmt.Errorf("goroutine %d call %d: allow=%v want %v", g, i, d.Allow, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func BenchmarkDecideDefaultPolicy(b *testing.B) {
	e, err := authz.New(context.Background(), authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout))
	require.NoError(b, err)
	in := readInput()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decide(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedDecisionHit is a decision served by the decision cache:
// the key, the lookup and the copy a hit hands out.
func BenchmarkCachedDecisionHit(b *testing.B) {
	e, err := authz.New(context.Background(), authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout),
		authz.WithDecisionCache(1024))
	require.NoError(b, err)
	in := readInput()
	ctx := context.Background()
	for range 2 { // a decision is stored the second time its key misses
		_, err := e.Decide(ctx, in)
		require.NoError(b, err)
	}
	_, ok := e.CachedDecision(ctx, in)
	require.True(b, ok, "the input's decision is not cacheable: the benchmark measures nothing")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := e.CachedDecision(ctx, in); !ok {
			b.Fatal("miss")
		}
	}
}
