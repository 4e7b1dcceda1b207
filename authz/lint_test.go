package authz_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

// The tools of examples/quickstart, as a developer would declare them.
var quickstartTools = []authz.ArgSchema{
	{Tool: "read_file", Fields: []string{"path"}},
	{Tool: "fetch_url", Fields: []string{"url"}},
	{Tool: "send_email", Fields: []string{"to", "subject", "body"}},
	{Tool: "delete_record", Fields: []string{"table", "id"}},
}

// The shipped policy must lint clean, tests included (they are skipped, but
// are passed in to prove that skipping them is what keeps them quiet).
func TestLintDefaultPolicyIsClean(t *testing.T) {
	modules := authz.DefaultPolicy()
	tests, err := filepath.Glob(filepath.Join("policy", "*_test.rego"))
	require.NoError(t, err)
	require.NotEmpty(t, tests)
	for _, name := range tests {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		modules[filepath.ToSlash(name)] = string(b)
	}

	findings, err := authz.Lint(modules, quickstartTools)
	require.NoError(t, err)
	require.Empty(t, findings)
}

// Every path the guard actually encodes must lint clean: the linter's idea
// of the input document is checked against encoding/json's, not against a
// list kept by hand.
func TestLintAcceptsEverythingTheInputEncodes(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	in := authz.Input{
		Subject:   authz.Subject{SPIFFEID: "spiffe://example.org/agent/a", TrustDomain: "example.org"},
		Principal: authz.Principal{User: "alice@example.com", Chain: []string{"user:alice@example.com"}},
		Task:      authz.Task{ID: "t", Purpose: "p", Scopes: []string{"s"}, ExpiresAt: &now, CallsUsed: 1},
		Tool:      authz.Tool{Name: "send_email", Effect: "write", Risk: "high"},
		Call: authz.Call{ID: "c", Args: json.RawMessage(`{"to": "bob@example.com"}`), ArgsDigest: "sha256:00",
			Destinations: []authz.Destination{{Kind: "url", Scheme: "https", Host: "h", Port: 443, Path: "/", Address: "a"}}},
		Context: authz.Context{ConversationID: "c-1", Taint: []string{"untrusted:web"}},
		Time:    now,
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var doc any
	require.NoError(t, json.Unmarshal(b, &doc))
	var refs []string
	var walk func(string, any)
	walk = func(ref string, v any) {
		refs = append(refs, ref)
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(ref+"."+k, e)
			}
		case []any:
			walk(ref+"[0]", v[0])
		}
	}
	walk("input", doc)
	sort.Strings(refs)
	require.Contains(t, refs, "input.call.destinations[0].address")

	rules := make([]string, len(refs))
	for i, r := range refs {
		rules[i] = "deny if " + r
	}
	findings, err := authz.Lint(policy(strings.Join(rules, "\n")), quickstartTools)
	require.NoError(t, err)
	require.Empty(t, findings)
}

func TestLint(t *testing.T) {
	wide := []authz.ArgSchema{{Tool: "crawl", Fields: []string{"meta.*", "req.urls"}}}
	type want struct{ at, ref, msg string } // at is "file:row:col"
	tests := []struct {
		name    string
		modules map[string]string
		tools   []authz.ArgSchema
		want    []want
	}{
		{
			name: "every known field, data refs and bare args are fine",
			modules: policy(`deny if input.subject.spiffe_id == input.principal.chain[0]
deny if input.task.expires_at != input.time
deny if input.call.destinations[0].host == input.call.args.to
deny if count(input.call.args) > input.task.calls_used
deny if data.anything.at.all
deny if input.context.taint[_] == input.tool.risk`),
			tools: quickstartTools,
		},
		{
			name:    "typo in a top-level field",
			modules: policy(`deny if input.subjct.spiffe_id == "x"`),
			tools:   quickstartTools,
			want: []want{{"p.rego:3:9", "input.subjct.spiffe_id",
				`input.subjct is undefined: input has no field "subjct" (it has call, context, peer, principal, provenance, subject, task, time, tool, usage)`}},
		},
		{
			name:    "misspelled nested field",
			modules: policy(`deny if input.tool.efect == "write"`),
			tools:   quickstartTools,
			want:    []want{{"p.rego:3:9", "input.tool.efect", `input.tool has no field "efect" (it has effect, name, risk)`}},
		},
		{
			name:    "argument no tool sends",
			modules: policy(`deny if endswith(input.call.args.recipient, "@rival.example")`),
			tools:   quickstartTools,
			want: []want{{"p.rego:3:18", "input.call.args.recipient",
				`no tool sends argument "recipient" (tools send body, id, path, subject, table, to, url)`}},
		},
		{
			name:    "typo in an array element's field",
			modules: policy(`deny if input.call.destinations[_].hots == "x"`),
			tools:   quickstartTools,
			want: []want{{"p.rego:3:9", "input.call.destinations[_].hots",
				`input.call.destinations[_] has no field "hots"`}},
		},
		{
			name: "constant index, missing index, field of a scalar, index of an object",
			modules: policy(`deny if input.call.destinations[0].hots
deny if input.call.destinations.host
deny if input.tool.name.first
deny if input.subject[0]`),
			tools: quickstartTools,
			want: []want{
				{"p.rego:3:9", "input.call.destinations[0].hots", `input.call.destinations[0] has no field "hots"`},
				{"p.rego:4:9", "input.call.destinations.host", "input.call.destinations is an array (index it, e.g. input.call.destinations[_])"},
				{"p.rego:5:9", "input.tool.name.first", "input.tool.name.first is undefined: input.tool.name is a string"},
				{"p.rego:6:9", "input.subject[0]", "input.subject is an object, not an array"},
			},
		},
		{
			name: "wildcard schema allows anything below",
			modules: policy(`deny if input.call.args.meta.anything.below[3]
deny if input.call.args.req.urls[0]
deny if input.call.args.req
deny if input.call.args.req.urlz`),
			tools: wide,
			want:  []want{{"p.rego:6:9", "input.call.args.req.urlz", `no tool sends argument "req.urlz" (tools send below req urls)`}},
		},
		{
			name:    "star alone allows every argument",
			modules: policy(`deny if input.call.args.whatever.deep`),
			tools:   []authz.ArgSchema{{Tool: "free", Fields: []string{"*"}}},
		},
		{
			name: "a variable index stops checking, but not before it",
			modules: policy(`deny if { some k; input.call.args[k] == "x" }
deny if input.call.destinations[_].host == "x"
deny if input.call.args[input.tool.name]
deny if input.call.destinationz[_].host
deny if input.call.args[input.tool.nmae]`),
			tools: quickstartTools,
			want: []want{
				{"p.rego:6:9", "input.call.destinationz[_].host", `input.call has no field "destinationz"`},
				{"p.rego:7:25", "input.tool.nmae", `input.tool has no field "nmae"`},
			},
		},
		{
			name:    "nil schema: every argument is reported",
			modules: policy(`deny if input.call.args.to == input.call.args`),
			want:    []want{{"p.rego:3:9", "input.call.args.to", `no tool sends argument "to" (tools send nothing)`}},
		},
		{
			name:    "empty schema: every argument is reported",
			modules: policy(`deny if input.call.args.to`),
			tools:   []authz.ArgSchema{},
			want:    []want{{"p.rego:3:9", "input.call.args.to", `no tool sends argument "to"`}},
		},
		{
			name: "heads, functions, comprehensions, ref heads and object.get",
			modules: policy(`f(x) := input.tool.efect if x
hosts := {d.host | some d in input.call.destinationz}
p[input.tool.nmae] := 1
name := object.get(input, ["tool", "nmae"], "")
host := object.get(input.call, "destinationz", [])`),
			tools: quickstartTools,
			want: []want{
				{"p.rego:3:9", "input.tool.efect", `no field "efect"`},
				{"p.rego:4:30", "input.call.destinationz", `no field "destinationz"`},
				{"p.rego:5:3", "input.tool.nmae", `no field "nmae"`},
				{"p.rego:6:27", "input.tool.nmae", `no field "nmae"`},
				{"p.rego:7:32", "input.call.destinationz", `no field "destinationz"`},
			},
		},
		{
			name: "import aliases are expanded, and a builtin named like one is not",
			modules: policy(`import input.call.args as a
import input.call.argz as b
import input.time
deny if a.recipient
deny if time.parse_rfc3339_ns(time) > 0`),
			tools: quickstartTools,
			want: []want{
				{"p.rego:4:8", "input.call.argz", `input.call has no field "argz"`},
				{"p.rego:6:9", "a.recipient", `input.call.args.recipient is undefined: no tool sends argument "recipient"`},
			},
		},
		{
			name: "test files are skipped; findings sorted by file then position",
			modules: map[string]string{
				"b.rego":      "package p\n\ndeny if input.nope\ndeny if input.tool.nope\n",
				"a.rego":      "package p\n\ndeny if { input.x; input.y }\n",
				"a_test.rego": "package p_test\n\ntest_x if input.nope\n",
			},
			tools: quickstartTools,
			want: []want{
				{"a.rego:3:11", "input.x", `no field "x"`},
				{"a.rego:3:20", "input.y", `no field "y"`},
				{"b.rego:3:9", "input.nope", `no field "nope"`},
				{"b.rego:4:9", "input.tool.nope", `no field "nope"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings, err := authz.Lint(tt.modules, tt.tools)
			require.NoError(t, err)
			require.Len(t, findings, len(tt.want), "%v", findings)
			for i, w := range tt.want {
				f := findings[i]
				require.Equal(t, w.at, fmt.Sprintf("%s:%d:%d", f.File, f.Row, f.Col), f.String())
				require.Equal(t, w.ref, f.Ref)
				require.Contains(t, f.Message, w.msg)
				require.Equal(t, w.at+": "+f.Message, f.String())
			}
		})
	}
}

func TestLintErrors(t *testing.T) {
	tests := []struct {
		name    string
		modules map[string]string
		tools   []authz.ArgSchema
		want    string
	}{
		{
			name:    "parse error names file and line",
			modules: map[string]string{"ok.rego": "package p\n", "bad.rego": "package p\n\ndeny if {\n\tinput.tool.name ==\n}\n"},
			want:    "authz: lint: bad.rego:5: rego_parse_error",
		},
		{
			name:    "rego v0 syntax is a parse error",
			modules: map[string]string{"old.rego": "package p\n\ndeny { input.tool }\n"},
			want:    "authz: lint: old.rego:3: rego_parse_error",
		},
		{
			name:    "empty module",
			modules: map[string]string{"empty.rego": ""},
			want:    "authz: lint: empty.rego:",
		},
		{name: "empty field", tools: []authz.ArgSchema{{Tool: "t", Fields: []string{""}}}, want: `authz: lint: tool "t": bad field path ""`},
		{name: "empty segment", tools: []authz.ArgSchema{{Tool: "t", Fields: []string{"a..b"}}}, want: `bad field path "a..b"`},
		{name: "star not last", tools: []authz.ArgSchema{{Tool: "t", Fields: []string{"a.*.b"}}}, want: `bad field path "a.*.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings, err := authz.Lint(tt.modules, tt.tools)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, findings)
		})
	}
}

// policy is one module, p.rego, whose rules start on line 3.
func policy(rules string) map[string]string {
	return map[string]string{"p.rego": "package p\n\n" + rules + "\n"}
}

// A deny rule that reads an argument the tool does not send never fires:
// the policy fails open. Lint finds it before the policy is loaded.
func ExampleLint() {
	findings, err := authz.Lint(map[string]string{
		"guard.rego": `package guard

deny contains "mail to a rival" if endswith(input.call.args.recipient, "@rival.example")
`,
	}, []authz.ArgSchema{{Tool: "send_email", Fields: []string{"to", "subject", "body"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	// Output:
	// guard.rego:3:45: input.call.args.recipient is undefined: no tool sends argument "recipient" (tools send body, subject, to)
}

// Lint judges the modules' reads of input, never the data: an engine that
// lints loads the default policy with every data key it reads, and still
// rejects a module that reads an argument no tool sends.
func TestLintOnLoadAcceptsThePolicyDataKeys(t *testing.T) {
	data := []byte(`{
  "agents": {"spiffe://example.org/agent/a": {
    "tools": ["fetch_url", "read_file"],
    "hosts": ["internal.example"],
    "private_hosts": ["internal.example"]
  }},
  "tools": {"fetch_url": {"scopes": ["web:fetch"], "approval": "never"}, "read_file": {"approval": "always"}},
  "credential_ttl_seconds": 30,
  "decision_cache_ttl_seconds": 2
}`)
	e, err := authz.New(t.Context(), authz.WithArgSchemas(quickstartTools...), authz.WithDataJSON(data), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	d, err := e.Decide(t.Context(), &authz.Input{
		Subject: authz.Subject{SPIFFEID: "spiffe://example.org/agent/a", TrustDomain: "example.org"},
		Tool:    authz.Tool{Name: "fetch_url", Effect: "read", Risk: "high"},
		Call: authz.Call{Args: []byte(`{"url":"https://internal.example/"}`),
			Destinations: []authz.Destination{{Kind: "url", Scheme: "https", Host: "internal.example", Port: 443}}},
		Time: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
	})
	require.NoError(t, err)
	require.True(t, d.Allow)
	require.False(t, d.Approval.Required)
	require.Equal(t, authz.Egress{Hosts: []string{"internal.example"}, AllowPrivate: true}, d.Egress)

	opts := []authz.Option{authz.WithArgSchemas(quickstartTools...), authz.WithDataJSON(data)}
	for name, src := range authz.DefaultPolicy() {
		opts = append(opts, authz.WithModule(name, src))
	}
	opts = append(opts, authz.WithModule("extra.rego", `package ztagent
deny contains {"code": "no_bcc", "message": "no bcc"} if input.call.args.bcc
`))
	_, err = authz.New(t.Context(), opts...)
	var lerr *authz.LintError
	require.ErrorAs(t, err, &lerr)
	require.Len(t, lerr.Findings, 1)
	require.Equal(t, "input.call.args.bcc", lerr.Findings[0].Ref)
}
