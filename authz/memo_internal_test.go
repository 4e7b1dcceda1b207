package authz

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"
	"github.com/stretchr/testify/require"
)

func memoPaths(t *testing.T, srcs ...string) []string {
	t.Helper()
	mods := map[string]*ast.Module{}
	for i, src := range srcs {
		mod, err := ast.ParseModuleWithOpts(fmt.Sprint(i), src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		require.NoError(t, err)
		mods[fmt.Sprint(i)] = mod
	}
	var out []string
	for _, r := range memoizableRules(mods) {
		out = append(out, r.String())
	}
	return out
}

func TestMemoizableRules(t *testing.T) {
	got := memoPaths(t, `package p
grants := data.grants[input.subject.spiffe_id]
name := input.tool.name
effect := object.get(input, ["tool", "effect"], "")
subject_td := object.get(input, "subject", {}).trust_domain
granted if name in grants
kinds contains k if some k in {"url", "path"}
lower_name := lower(name)
r.s := 1
uses_fn := f(1)
f(x) := x + count(input.tool.name)

call_id := input.call.id
call_obj := object.get(input, "call", {})
whole := input
any_key := input[k] if some k
scopes := count(input.task.scopes)
via_unstable if call_id
dice := rand.intn("x", 10)
id := uuid.rfc4122("x")
printed if print("x")
forced := n if n := name with input.tool.name as "x"
uses_bad_fn := g(1)
g(x) := x + count(input.call.destinations)
obj[k] := v if some k, v in {"a": 1}
`, `package q
whole_p := data.p
p_name := data.p.name
p_call := data.p.call_id
`)
	require.ElementsMatch(t, []string{
		"data.p.grants", "data.p.name", "data.p.effect", "data.p.subject_td", "data.p.granted",
		"data.p.kinds", "data.p.lower_name", "data.p.r.s", "data.p.uses_fn", "data.q.p_name",
	}, got)
}

// A policy that does not compile on its own (here: a builtin the analysis
// does not know) is not memoized at all.
func TestMemoizableRulesUnknownBuiltin(t *testing.T) {
	require.Empty(t, memoPaths(t, "package p\nx := custom.fn(input.tool.name)\n"))
}

// customBuiltin is registered globally, as rego.RegisterBuiltin1 does for an
// embedder, and not marked Nondeterministic. It is registered at package
// init: registration writes OPA's global maps, which parallel tests read.
const customBuiltin = "ztagent_memo_test.custom"

func init() {
	rego.RegisterBuiltin1(&rego.Function{Name: customBuiltin, Decl: types.NewFunction(types.Args(types.S), types.S)},
		func(_ rego.BuiltinContext, a *ast.Term) (*ast.Term, error) { return a, nil })
}

// A globally registered custom builtin lands in ast.BuiltinMap beside the
// standard ones; it is still opaque, so a rule calling it is not memoized.
func TestMemoizableRulesGlobalCustomBuiltin(t *testing.T) {
	b, ok := ast.BuiltinMap[customBuiltin]
	require.True(t, ok)
	require.False(t, b.Nondeterministic)
	got := memoPaths(t, `package p
custom := `+customBuiltin+`(input.tool.name)
via_custom := upper(custom)
std := upper(input.tool.name)
`)
	require.Equal(t, []string{"data.p.std"}, got)
}

func TestMemoizableRulesDefaultPolicy(t *testing.T) {
	e, err := New(t.Context())
	require.NoError(t, err)
	m := e.current().memo
	require.NotNil(t, m)
	var got []string
	for _, p := range m.paths {
		got = append(got, p.String())
	}
	// The agent's grants and the tool's declaration, never the call.
	require.Contains(t, got, "data.ztagent.agent")
	require.Contains(t, got, "data.ztagent.tool_granted")
	require.Contains(t, got, "data.ztagent.credential_scopes")
	require.Contains(t, got, "data.ztagent.tool_approval")
	require.Contains(t, got, "data.ztagent.private_hosts")
	for _, p := range []string{"data.ztagent.destinations", "data.ztagent.host_destinations", "data.ztagent.deny",
		"data.ztagent.allow", "data.ztagent.decision", "data.ztagent.tainted", "data.ztagent.credential_audience",
		"data.ztagent.egress_allow_private"} {
		require.NotContains(t, got, p)
	}
}

const memoData = `{
  "agents": {
    "spiffe://ztagent.dev/agent/a": {"tools": ["read_file", "fetch_url", "send_email", "run"], "hosts": ["docs.example.com", "Mail.Example.com", "internal.example"],
      "private_hosts": ["Internal.Example", "evil.example"]},
    "spiffe://ztagent.dev/agent/b": {"tools": ["fetch_url"], "hosts": []}
  },
  "tools": {"fetch_url": {"scopes": ["web:fetch"]}, "read_file": {"approval": "always"}, "run": {"approval": "never"}, "send_email": {"approval": "Never"}},
  "credential_ttl_seconds": 30
}`

// randomInput draws from a small space so that subjects and tools repeat
// (the memo's key) while everything else varies.
func randomInput(r *rand.Rand) *Input {
	pick := func(ss ...string) string { return ss[r.IntN(len(ss))] }
	in := &Input{
		Subject: Subject{SPIFFEID: pick("spiffe://ztagent.dev/agent/a", "spiffe://ztagent.dev/agent/b", "spiffe://ztagent.dev/agent/x", ""), TrustDomain: "ztagent.dev"},
		Tool:    Tool{Name: pick("read_file", "fetch_url", "send_email", "run", ""), Effect: pick("read", "write", "external", "destructive", "bogus"), Risk: pick("low", "high", "")},
		Task:    Task{ID: "t", Scopes: []string{"s"}, CallsUsed: r.IntN(5)},
		Call:    Call{ID: fmt.Sprint("call_", r.IntN(1000)), Args: json.RawMessage(`{"n":` + fmt.Sprint(r.IntN(9)) + `}`), ArgsDigest: "sha256:00"},
		Time:    time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
	}
	for range r.IntN(3) {
		d := Destination{Kind: pick("url", "email", "path", "argv", "ftp", ""), Host: pick("docs.example.com", "mail.example.com", "evil.example", "DOCS.example.com", "internal.example", "")}
		d.Flagged = r.IntN(2) == 0
		in.Call.Destinations = append(in.Call.Destinations, d)
	}
	if r.IntN(2) == 0 {
		in.Context.Taint = []string{"untrusted:web"}
	}
	switch r.IntN(3) {
	case 0:
		exp := in.Time.Add(-time.Minute)
		in.Task.ExpiresAt = &exp
	case 1:
		exp := in.Time.Add(time.Minute)
		in.Task.ExpiresAt = &exp
	}
	return in
}

// plainDecide is the reference: the same compiled revision evaluated with
// no memo, as OPA alone evaluates it.
func plainDecide(t testing.TB, e *Engine, in *Input) (Decision, *Error) {
	t.Helper()
	plain := *e.current()
	plain.memo = nil
	v, err := e.inputValue(in)
	require.NoError(t, err)
	return evaluate(context.Background(), &plain, v, memoKey{})
}

// The memo must never change a decision: every decision of an engine that
// memoizes equals the one OPA makes without it, for the same input, in any
// order of earlier calls (which decides what the memo has learnt).
func TestMemoDecisionsEqualPlainEvaluation(t *testing.T) {
	e, err := New(t.Context(), WithDataJSON([]byte(memoData)), WithTimeout(time.Minute))
	require.NoError(t, err)
	require.NotNil(t, e.current().memo)
	r := rand.New(rand.NewPCG(1, 2))
	allowed, denied, private := 0, 0, 0
	for range 2000 {
		in := randomInput(r)
		want, werr := plainDecide(t, e, in)
		got, gerr := e.Decide(context.Background(), in)
		if werr != nil {
			require.Error(t, gerr)
			require.Equal(t, werr.Code, gerr.(*Error).Code)
			continue
		}
		require.NoError(t, gerr)
		require.Equal(t, want, got, "input %+v", in)
		if got.Allow {
			allowed++
		} else {
			denied++
		}
		if got.Egress.AllowPrivate {
			private++
		}
	}
	// The inputs reach both outcomes, so the comparison means something.
	require.Greater(t, allowed, 50)
	require.Greater(t, denied, 50)
	require.Positive(t, private)
	m := e.current().memo
	m.mu.RLock()
	defer m.mu.RUnlock()
	require.NotEmpty(t, m.seeds, "the memo learnt nothing")
}

func FuzzMemoDecisionsEqualPlainEvaluation(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(7), uint64(0))
	e, err := New(context.Background(), WithDataJSON([]byte(memoData)), WithTimeout(time.Minute))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b uint64) {
		r := rand.New(rand.NewPCG(a, b))
		for range 8 {
			in := randomInput(r)
			want, werr := plainDecide(t, e, in)
			got, gerr := e.Decide(context.Background(), in)
			if werr != nil {
				if gerr == nil {
					t.Fatalf("plain evaluation failed (%v), memoized allowed=%v", werr, got.Allow)
				}
				continue
			}
			if gerr != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("input %+v:\nplain    %+v\nmemoized %+v (%v)", in, want, got, gerr)
			}
		}
	})
}

// A `with` evaluates in a fresh frame of the virtual cache, so a memoized
// value must not leak into it.
func TestMemoDoesNotLeakIntoWith(t *testing.T) {
	policy := `package p
name := input.tool.name
forced := n if n := name with input.tool as {"name": "forced"}
decision := {"allow": true, "reasons": [{"code": concat(":", [name, forced]), "message": "m"}]}
`
	e, err := New(t.Context(), WithModule("p.rego", policy), WithQuery("data.p.decision"))
	require.NoError(t, err)
	require.NotNil(t, e.current().memo)
	for range 3 { // learn, then use what was learnt
		d, err := e.Decide(t.Context(), &Input{Tool: Tool{Name: "real"}})
		require.NoError(t, err)
		require.Equal(t, "real:forced", d.Reasons[0].Code)
	}
}

// A new revision starts with an empty memo: a grant removed from data takes
// effect on the next decision.
func TestMemoDiesWithRevision(t *testing.T) {
	e, err := New(t.Context(), WithDataJSON([]byte(memoData)))
	require.NoError(t, err)
	in := &Input{Subject: Subject{SPIFFEID: "spiffe://ztagent.dev/agent/b"}, Tool: Tool{Name: "fetch_url", Effect: "read"}, Time: time.Now()}
	for range 3 {
		d, err := e.Decide(t.Context(), in)
		require.NoError(t, err)
		require.True(t, d.Allow)
	}
	require.NoError(t, e.Load(t.Context(), PolicySet{Modules: DefaultPolicy(), Data: []byte(`{"agents": {}}`)}))
	d, err := e.Decide(t.Context(), in)
	require.NoError(t, err)
	require.False(t, d.Allow)
	require.Equal(t, "tool_not_granted", d.Reasons[0].Code)
}

func TestMemoIsBounded(t *testing.T) {
	e, err := New(t.Context(), WithDataJSON([]byte(memoData)))
	require.NoError(t, err)
	m := e.current().memo
	for i := range memoMaxKeys + 10 {
		_, err := e.Decide(t.Context(), &Input{Subject: Subject{SPIFFEID: fmt.Sprint("spiffe://x/", i)}, Tool: Tool{Name: "t"}})
		require.NoError(t, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	require.LessOrEqual(t, len(m.seeds), memoMaxKeys)
	require.NotEmpty(t, m.seeds)
}

func TestMemoConcurrentDecisions(t *testing.T) {
	e, err := New(t.Context(), WithDataJSON([]byte(memoData)), WithTimeout(time.Minute))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for range 100 {
				in := randomInput(r)
				want, werr := plainDecide(t, e, in)
				got, gerr := e.Decide(context.Background(), in)
				if werr == nil {
					require.NoError(t, gerr)
					require.Equal(t, want, got)
				}
			}
		})
	}
	wg.Wait()
}
