package authz_test

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/internal/fakeclock"
)

func cachedEngine(t *testing.T, opts ...authz.Option) *authz.Engine {
	t.Helper()
	base := []authz.Option{authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout), authz.WithDecisionCache(1024)}
	e, err := authz.New(context.Background(), append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func decide(t *testing.T, e *authz.Engine, in *authz.Input) authz.Decision {
	t.Helper()
	d, err := e.Decide(context.Background(), in)
	require.NoError(t, err)
	return d
}

// warm decides in twice (a key is stored the second time it misses) and
// checks the decision was cacheable and not cached.
func warm(t *testing.T, e *authz.Engine, in *authz.Input) authz.Decision {
	t.Helper()
	var d authz.Decision
	for range 2 {
		d = decide(t, e, in)
		require.True(t, d.Allow, codesOf(d))
		require.False(t, d.Cached)
		require.Equal(t, 5*time.Second, d.CacheTTL)
	}
	return d
}

// A key is stored the second time it misses: a one-off input takes no room.
func TestDecisionCacheAdmitsOnTheSecondMiss(t *testing.T) {
	e := cachedEngine(t)
	in := readInput()
	require.False(t, decide(t, e, in).Cached, "first: evaluated, only noted")
	require.False(t, decide(t, e, in).Cached, "second: evaluated, stored")
	require.True(t, decide(t, e, in).Cached, "third: served")

	// A different key in between takes the note: the first key starts over.
	a, b := readInput(), readInput()
	b.Call.Args = json.RawMessage(`{"path":"/srv/docs/b.txt"}`)
	e = cachedEngine(t, authz.WithDecisionCache(1)) // one slot: a and b share it
	for range 3 {
		require.False(t, decide(t, e, a).Cached)
		require.False(t, decide(t, e, b).Cached)
	}
}

func TestDecisionCacheKeyCoversTheInput(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *authz.Input)
		hit    bool
	}{
		{"same input, later call", func(in *authz.Input) { in.Call.ID = "call_2"; in.Time = in.Time.Add(time.Second) }, true},
		{"budget the policy never reads", func(in *authz.Input) { in.Task.CallsUsed = 41 }, true},
		{"subject", func(in *authz.Input) { in.Subject.SPIFFEID = "spiffe://ztagent.dev/agent/other" }, false},
		{"trust domain", func(in *authz.Input) { in.Subject.TrustDomain = "other.dev" }, false},
		{"user", func(in *authz.Input) { in.Principal.User = "mallory@example.com" }, false},
		{"chain", func(in *authz.Input) { in.Principal.Chain = []string{"user:mallory", quickstartAgent} }, false},
		{"task id", func(in *authz.Input) { in.Task.ID = "t-2" }, false},
		{"purpose", func(in *authz.Input) { in.Task.Purpose = "exfiltrate" }, false},
		{"task scopes", func(in *authz.Input) { in.Task.Scopes = nil }, false},
		{"task expiry", func(in *authz.Input) { exp := decisionTime.Add(time.Hour); in.Task.ExpiresAt = &exp }, false},
		{"tool", func(in *authz.Input) { in.Tool.Name = "fetch_url" }, false},
		{"effect", func(in *authz.Input) { in.Tool.Effect = "write" }, false},
		{"risk", func(in *authz.Input) { in.Tool.Risk = "high" }, false},
		{"args", func(in *authz.Input) { in.Call.Args = json.RawMessage(`{"path":"/etc/shadow"}`) }, false},
		{"args digest", func(in *authz.Input) { in.Call.ArgsDigest = "sha256:01" }, false},
		{"destination path", func(in *authz.Input) { in.Call.Destinations[0].Path = "/etc/shadow" }, false},
		{"destination added", func(in *authz.Input) {
			in.Call.Destinations = append(in.Call.Destinations, authz.Destination{Kind: "url", Scheme: "https", Host: "docs.example.com", Port: 443})
		}, false},
		{"destination port", func(in *authz.Input) { in.Call.Destinations[0].Port = 1 }, false},
		{"taint", func(in *authz.Input) { in.Context.Taint = []string{"untrusted:web"} }, false},
		{"conversation", func(in *authz.Input) { in.Context.ConversationID = "c-2" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cachedEngine(t)
			first := warm(t, e, readInput())
			in := readInput()
			tt.change(in)
			d := decide(t, e, in)
			require.Equal(t, tt.hit, d.Cached)
			if tt.hit {
				require.Equal(t, first.Reasons, d.Reasons)
				require.Equal(t, first.Credential, d.Credential)
				require.Equal(t, first.Revision, d.Revision)
			}
		})
	}
}

func TestDecisionCacheTimeBounds(t *testing.T) {
	exp := decisionTime.Add(2 * time.Second)
	tests := []struct {
		name    string
		expires *time.Time
		at      time.Duration // after the first decision
		hit     bool
		allow   bool
	}{
		{"within the TTL", nil, 4 * time.Second, true, true},
		{"at the TTL", nil, 5 * time.Second, false, true},
		{"before the decision was made", nil, -time.Second, false, true},
		{"before task expiry", &exp, time.Second, true, true},
		{"at task expiry the cached allow is gone", &exp, 2 * time.Second, false, false},
		{"past task expiry", &exp, 3 * time.Second, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cachedEngine(t)
			in := readInput()
			in.Task.ExpiresAt = tt.expires
			warm(t, e, in)
			in.Time = decisionTime.Add(tt.at)
			d, err := e.Decide(context.Background(), in)
			require.NoError(t, err)
			require.Equal(t, tt.hit, d.Cached)
			require.Equal(t, tt.allow, d.Allow, codesOf(d))
			if !tt.allow {
				require.Equal(t, []string{"task_expired"}, codesOf(d))
			}
		})
	}
}

// Past its TTL on the engine's clock an entry serves no call, even one
// whose input.time says less time has passed (a caller's clock that lags
// or stands still).
func TestDecisionCacheTTLRunsOnTheEngineClock(t *testing.T) {
	clk := fakeclock.New(decisionTime)
	e := cachedEngine(t, authz.WithClock(clk.Now))
	in := readInput()
	warm(t, e, in)
	clk.Advance(5*time.Second - time.Nanosecond)
	require.True(t, decide(t, e, in).Cached, "within the TTL")
	clk.Advance(time.Nanosecond)
	require.False(t, decide(t, e, in).Cached, "the TTL has passed on the engine's clock")
}

// A grant revoked by a policy or data change (a new revision) is never
// answered from the old revision's cache, whatever the TTL.
func TestDecisionCacheDiesWithTheRevision(t *testing.T) {
	e := cachedEngine(t)
	first := warm(t, e, readInput())
	require.True(t, decide(t, e, readInput()).Cached)

	revoked := `{"agents": {"` + quickstartAgent + `": {"tools": [], "hosts": []}}}`
	require.NoError(t, e.Load(context.Background(), authz.PolicySet{Modules: authz.DefaultPolicy(), Data: []byte(revoked)}))
	d := decide(t, e, readInput())
	require.False(t, d.Cached)
	require.False(t, d.Allow)
	require.Equal(t, []string{"tool_not_granted"}, codesOf(d))
	require.NotEqual(t, first.Revision, d.Revision)

	// Restoring the same policy is the same revision but a new compile: it
	// starts empty too.
	require.NoError(t, e.Load(context.Background(), authz.PolicySet{Modules: authz.DefaultPolicy(), Data: []byte(quickstartData)}))
	d = decide(t, e, readInput())
	require.False(t, d.Cached)
	require.True(t, d.Allow)
}

const cacheAll = `package ztagent
import rego.v1
default allow := false
allow if input.tool.name == "read_file"
decision := {"allow": allow, "reasons": [{"code": "x", "message": "x"}], "approval": {"required": input.tool.risk == "high"}, "cache": {"ttl_seconds": 60}}
`

const budget = `package ztagent
import rego.v1
allow if input.task.calls_used < 2
default allow := false
decision := {"allow": allow, "reasons": [{"code": "budget", "message": "x"}], "cache": {"ttl_seconds": 60}}
`

func TestDecisionCacheNeverKeeps(t *testing.T) {
	t.Run("a decision that needs approval", func(t *testing.T) {
		e := cachedEngine(t, authz.WithModule("p.rego", cacheAll))
		in := readInput()
		in.Tool.Risk = "high"
		for range 3 { // stored at the second miss, so the third would be served
			d := decide(t, e, in)
			require.True(t, d.Approval.Required)
			require.False(t, d.Cached)
		}
	})
	t.Run("a denial", func(t *testing.T) {
		e := cachedEngine(t, authz.WithModule("p.rego", cacheAll))
		in := readInput()
		in.Tool.Name = "nope"
		for range 3 { // stored at the second miss, so the third would be served
			d := decide(t, e, in)
			require.False(t, d.Allow)
			require.False(t, d.Cached)
		}
	})
	t.Run("what the policy does not mark", func(t *testing.T) {
		e := cachedEngine(t)
		in := readInput()
		in.Tool.Name, in.Tool.Effect = "send_email", "write"
		for range 3 { // stored at the second miss, so the third would be served
			require.False(t, decide(t, e, in).Cached)
		}
	})
	t.Run("a budget the policy reads", func(t *testing.T) {
		e := cachedEngine(t, authz.WithModule("p.rego", budget))
		in := readInput()
		for used, allow := range []bool{true, true, false, false} {
			in.Task.CallsUsed = used
			d := decide(t, e, in)
			require.Equal(t, allow, d.Allow, "calls_used=%d", used)
			require.False(t, d.Cached, "calls_used is in the key, so each count is its own entry")
		}
		in.Task.CallsUsed = 1
		require.False(t, decide(t, e, in).Cached, "the second miss of this count stores it")
		require.True(t, decide(t, e, in).Cached, "the same count may be reused")
	})
	t.Run("anything while a shadow policy is loaded", func(t *testing.T) {
		e := cachedEngine(t, authz.WithShadow(authz.PolicySet{Modules: authz.DefaultPolicy(), Data: []byte(quickstartData)}))
		for range 3 { // stored at the second miss, so the third would be served
			d := decide(t, e, readInput())
			require.False(t, d.Cached)
			require.NotNil(t, d.Shadow)
		}
	})
	t.Run("anything without WithDecisionCache", func(t *testing.T) {
		e := quickstartEngine(t)
		for range 3 { // stored at the second miss, so the third would be served
			d := decide(t, e, readInput())
			require.False(t, d.Cached)
			require.Equal(t, 5*time.Second, d.CacheTTL, "the policy still says it could")
		}
	})
}

func TestDecisionCacheHitHonoursCancellation(t *testing.T) {
	e := cachedEngine(t)
	warm(t, e, readInput())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := e.Decide(ctx, readInput())
	require.Error(t, err)
	require.False(t, d.Allow)
}

func TestDecisionCacheCallerOwnsTheDecision(t *testing.T) {
	e := cachedEngine(t)
	warm(t, e, readInput())
	d := decide(t, e, readInput())
	require.True(t, d.Cached)
	d.Reasons[0].Code = "tampered"
	d.Credential.Scopes[0] = "admin"
	again := decide(t, e, readInput())
	require.True(t, again.Cached)
	require.Equal(t, "allowed", again.Reasons[0].Code)
	require.Equal(t, []string{"read_file:read"}, again.Credential.Scopes)
}

func TestDecisionCacheConcurrent(t *testing.T) {
	e := cachedEngine(t, authz.WithDecisionCache(4)) // tiny: slots collide and are overwritten
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				in := readInput()
				in.Task.ID = []string{"a", "b", "c", "d", "e", "f"}[(g+i)%6]
				d, err := e.Decide(context.Background(), in)
				if err != nil || !d.Allow || d.Revision == "" {
					t.Errorf("decision %d/%d: %v %+v", g, i, err, d)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDecisionCacheShape(t *testing.T) {
	// A TTL too long for a time.Duration is clamped to the longest one in
	// whole seconds, not wrapped.
	maxTTL := time.Duration(math.MaxInt64/int64(time.Second)) * time.Second
	tests := []struct {
		name  string
		cache string
		ok    bool
		ttl   time.Duration
	}{
		{"absent", `null`, true, 0},
		{"ttl", `{"ttl_seconds": 3}`, true, 3 * time.Second},
		{"huge", `{"ttl_seconds": 10000000000}`, true, maxTTL},
		{"max int", `{"ttl_seconds": 9223372036854775807}`, true, maxTTL},
		{"negative", `{"ttl_seconds": -1}`, false, 0},
		{"fraction", `{"ttl_seconds": 1.5}`, false, 0},
		{"string", `{"ttl_seconds": "5"}`, false, 0},
		{"not an object", `5`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := "package ztagent\ndecision := {\"allow\": true, \"cache\": " + tt.cache + "}\n"
			e, err := authz.New(context.Background(), authz.WithModule("p.rego", mod), authz.WithTimeout(testTimeout))
			require.NoError(t, err)
			defer e.Close()
			d, err := e.Decide(context.Background(), readInput())
			if !tt.ok {
				require.Error(t, err)
				require.False(t, d.Allow)
				var ae *authz.Error
				require.ErrorAs(t, err, &ae)
				require.Equal(t, authz.CodeBadDecision, ae.Code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.ttl, d.CacheTTL)
		})
	}
}

// A module added through WithRegoOptions is evaluated, so the cache key must
// cover what it reads too: here the budget, which no WithModule module reads.
func TestDecisionCacheKeyCoversModulesFromRegoOptions(t *testing.T) {
	extra := rego.Module("extra.rego", "package p\nunder_budget if input.task.calls_used < 1\n")
	e, err := authz.New(context.Background(), authz.WithDecisionCache(64), authz.WithTimeout(testTimeout),
		authz.WithModule("p.rego", "package p\ndefault allow := false\nallow if data.p.under_budget\n"+
			`decision := {"allow": allow, "reasons": [{"code": "budget", "message": "x"}], "cache": {"ttl_seconds": 60}}`+"\n"),
		authz.WithQuery("data.p.decision"), authz.WithRegoOptions(extra))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	in := readInput()
	for range 3 { // stored at the second miss
		require.True(t, decide(t, e, in).Allow)
	}
	in.Task.CallsUsed = 5
	d := decide(t, e, in)
	require.False(t, d.Cached)
	require.False(t, d.Allow, "the budget is spent; a cached allow must not answer")
}

// A cached engine decides exactly what a plain one decides, on a stream of
// inputs drawn from small pools so that keys repeat, differ in one field, or
// differ only in where the bytes fall between fields; the cache is small,
// so keys also share slots and evict each other.
func TestDecisionCacheAgreesWithEvaluation(t *testing.T) {
	cached := cachedEngine(t, authz.WithDecisionCache(8))
	plain, err := authz.New(context.Background(), authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Close() })

	rng := rand.New(rand.NewPCG(1, 2))
	// Each field keeps readInput's value (the first) most of the time.
	at := func(n int) int {
		if rng.IntN(4) > 0 {
			return 0
		}
		return rng.IntN(n)
	}
	pick := func(ss ...string) string { return ss[at(len(ss))] }
	hits := 0
	n := 1500
	if testing.Short() {
		n = 300
	}
	for i := range n {
		in := readInput()
		in.Subject.SPIFFEID = pick(quickstartAgent, "spiffe://ztagent.dev/agent/other")
		in.Principal.User = pick("alice@example.com", "alice@example.co", "")
		in.Task.ID = pick("t-1", "t-", "t-1t")
		in.Task.Scopes = [][]string{{"docs:read"}, {"docs:", "read"}, nil}[at(3)]
		in.Tool.Name = pick("read_file", "fetch_url", "write_file")
		in.Tool.Effect = pick("read", "write")
		path := pick("/srv/docs/a.txt", "/srv/docs/b.txt", "/etc/shadow")
		in.Call.Args = json.RawMessage(`{"path":"` + path + `"}`)
		in.Call.Destinations[0].Path = path
		in.Context.Taint = [][]string{nil, {"untrusted:web"}}[at(2)]
		in.Call.ID = "call_" + strconv.Itoa(i)

		want, wantErr := plain.Decide(context.Background(), in)
		got, gotErr := cached.Decide(context.Background(), in)
		require.Equal(t, wantErr, gotErr, "input %d", i)
		if got.Cached {
			hits++
		}
		got.Cached = false
		require.Equal(t, want, got, "input %d: %+v", i, in)
	}
	t.Logf("%d of %d decisions served by the cache", hits, n)
	require.Greater(t, hits, n/20, "the cache served too few decisions to test anything")
}
