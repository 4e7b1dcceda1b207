package authz_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []authz.Option
		want string
	}{
		{name: "zero timeout", opts: []authz.Option{authz.WithTimeout(0)}, want: "authz: timeout"},
		{name: "negative timeout", opts: []authz.Option{authz.WithTimeout(-time.Second)}, want: "authz: timeout"},
		{name: "empty query", opts: []authz.Option{authz.WithQuery("")}, want: "authz: empty query"},
		{name: "nil option", opts: []authz.Option{nil}, want: "authz: nil option"},
		{name: "nil clock", opts: []authz.Option{authz.WithClock(nil)}, want: "authz: nil clock"},
		{name: "invalid data JSON", opts: []authz.Option{authz.WithDataJSON([]byte(`{"agents":`))}, want: "authz: data"},
		{name: "data JSON not an object", opts: []authz.Option{authz.WithDataJSON([]byte(`[1, 2]`))}, want: "authz: data"},
		{name: "data JSON null", opts: []authz.Option{authz.WithDataJSON([]byte(`null`))}, want: "authz: data"},
		{name: "data not JSON-able", opts: []authz.Option{authz.WithData(map[string]any{"f": func() {}})}, want: "authz: data"},
		{
			name: "duplicate module",
			opts: []authz.Option{authz.WithModule("a.rego", "package a"), authz.WithModule("a.rego", "package b")},
			want: `authz: module "a.rego" given twice`,
		},
		{name: "module without filename", opts: []authz.Option{authz.WithModule("", "package a")}, want: "authz: module with an empty filename"},
		{name: "opt in to a safe builtin", opts: []authz.Option{authz.WithUnsafeBuiltins("count")}, want: `authz: unsafe builtins: builtin "count"`},
		{name: "bad query", opts: []authz.Option{authz.WithQuery("data.ztagent.decision[")}, want: "compile policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := authz.New(context.Background(), tc.opts...)
			require.Nil(t, e)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNewCompileErrorNamesFileAndLine(t *testing.T) {
	t.Parallel()
	src := "package p\n\ndecision := {\"allow\": true}\n\nallow if {\n\tinput.x ==\n}\n"
	_, err := authz.New(context.Background(), authz.WithModule("policies/bad.rego", src), authz.WithQuery("data.p.decision"))
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "authz: load options: compile policy: "), err.Error())
	require.Contains(t, err.Error(), "policies/bad.rego:")
	t.Log(err)

	_, err = authz.New(context.Background(), authz.WithModule("undefined_ref.rego", "package p\n\ndecision := {\"allow\": no_such_function(1)}\n"))
	require.ErrorContains(t, err, "undefined_ref.rego:3")
}

func TestRefusedBuiltins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		builtin string
		call    string
	}{
		{builtin: "http.send", call: `http.send({"method": "get", "url": "http://127.0.0.1:1/"})`},
		{builtin: "net.lookup_ip_addr", call: `net.lookup_ip_addr("example.com")`},
		{builtin: "opa.runtime", call: `opa.runtime()`},
		{builtin: "rego.parse_module", call: `rego.parse_module("x.rego", "package x")`},
		{builtin: "time.now_ns", call: `time.now_ns()`},
		{builtin: "trace", call: `trace("x")`},
	}
	require.ElementsMatch(t, authz.RefusedBuiltins(), func() []string {
		var names []string
		for _, tc := range tests {
			names = append(names, tc.builtin)
		}
		return names
	}())
	for _, tc := range tests {
		t.Run(tc.builtin, func(t *testing.T) {
			t.Parallel()
			src := "package p\n\nx := " + tc.call + "\n\ndecision := {\"allow\": false, \"x\": x}\n"
			mod := authz.WithModule("net.rego", src)
			query := authz.WithQuery("data.p.decision")

			_, err := authz.New(context.Background(), mod, query)
			require.ErrorContains(t, err, "unsafe built-in function calls")
			require.ErrorContains(t, err, tc.builtin)
			require.ErrorContains(t, err, "net.rego:3")

			// Opting in compiles; nothing is evaluated, so no network is touched.
			e, err := authz.New(context.Background(), mod, query, authz.WithUnsafeBuiltins(tc.builtin))
			require.NoError(t, err)
			require.NotNil(t, e)
		})
	}
}

func TestRefusedBuiltinInQuery(t *testing.T) {
	t.Parallel()
	_, err := authz.New(context.Background(), authz.WithQuery(`time.now_ns()`))
	require.ErrorContains(t, err, "unsafe built-in function calls")
}

func TestRevision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mods := func(first, second string) []authz.Option {
		return []authz.Option{
			authz.WithModule(first, "package a\n\ndecision := {\"allow\": data.open}\n"),
			authz.WithModule(second, "package b\n\nx := 1\n"),
		}
	}
	build := func(opts ...authz.Option) string {
		t.Helper()
		e, err := authz.New(ctx, opts...)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(e.Revision(), "sha256:"))
		require.Len(t, e.Revision(), len("sha256:")+64)
		return e.Revision()
	}

	base := build(append(mods("a.rego", "b.rego"), authz.WithQuery("data.a.decision"), authz.WithData(map[string]any{"open": true}))...)
	require.Equal(t, base, build(append(mods("a.rego", "b.rego"), authz.WithQuery("data.a.decision"), authz.WithData(map[string]any{"open": true}))...), "same inputs")
	require.Equal(t, base, build(append(mods("a.rego", "b.rego"), authz.WithQuery("data.a.decision"), authz.WithDataJSON([]byte(`{ "open" : true }`)))...), "same data as JSON")
	require.NotEqual(t, base, build(append(mods("a.rego", "b.rego"), authz.WithQuery("data.a.decision"), authz.WithData(map[string]any{"open": false}))...), "different data")
	require.NotEqual(t, base, build(append(mods("a.rego", "c.rego"), authz.WithQuery("data.a.decision"), authz.WithData(map[string]any{"open": true}))...), "different filename")
	require.NotEqual(t, base, build(append(mods("a.rego", "b.rego"), authz.WithQuery("data.a.decision.allow"), authz.WithData(map[string]any{"open": true}))...), "different query")

	def := build()
	require.Equal(t, def, build(), "default policy")
	require.NotEqual(t, def, build(authz.WithDataJSON([]byte(quickstartData))))
}

func TestRevisionOnDecision(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(), authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	d, err := e.Decide(context.Background(), readInput())
	require.NoError(t, err)
	require.Equal(t, e.Revision(), d.Revision)
	require.Equal(t, authz.DefaultQuery, d.PolicyID)
	require.Equal(t, authz.DefaultQuery, e.PolicyID())
}

// The engine copies the data document at New: later changes by the caller
// cannot widen what the policy grants.
func TestWithDataIsCopied(t *testing.T) {
	t.Parallel()
	tools := []any{"read_file"}
	doc := map[string]any{"agents": map[string]any{quickstartAgent: map[string]any{"tools": tools, "hosts": []any{}}}}
	e, err := authz.New(context.Background(), authz.WithData(doc), authz.WithTimeout(testTimeout))
	require.NoError(t, err)

	in := readInput()
	in.Tool = authz.Tool{Name: "delete_record", Effect: "destructive", Risk: "high"}
	tools[0] = "delete_record"
	doc["agents"] = map[string]any{}

	d, err := e.Decide(context.Background(), in)
	require.NoError(t, err)
	require.False(t, d.Allow)
	require.Equal(t, "tool_not_granted", d.Reasons[0].Code)
}

func TestWithModuleReplacesDefaultPolicy(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(),
		authz.WithModule("mine.rego", "package mine\n\ndecision := {\"allow\": true}\n"),
		authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	_, err = e.Decide(context.Background(), readInput())
	require.Equal(t, authz.CodeUndefined, authz.CodeOf(err), "data.ztagent.decision must not exist without the default policy")
}

// DefaultPolicy can be loaded explicitly next to an extra module.
func TestDefaultPolicyWithExtraModule(t *testing.T) {
	t.Parallel()
	var opts []authz.Option
	for name, src := range authz.DefaultPolicy() {
		opts = append(opts, authz.WithModule(name, src))
	}
	opts = append(opts,
		authz.WithModule("extra.rego", "package ztagent\n\ndeny contains {\"code\": \"weekend\", \"message\": \"no\"} if time.weekday(time.parse_rfc3339_ns(input.time)) == \"Monday\"\n"),
		authz.WithDataJSON([]byte(quickstartData)),
		authz.WithTimeout(testTimeout))
	e, err := authz.New(context.Background(), opts...)
	require.NoError(t, err)
	in := readInput()
	in.Time = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) // a Monday
	d, err := e.Decide(context.Background(), in)
	require.NoError(t, err)
	require.False(t, d.Allow)
	require.Equal(t, "weekend", d.Reasons[0].Code)
}
