package authz

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/stretchr/testify/require"
)

func TestScanReads(t *testing.T) {
	tests := []struct {
		name string
		body string
		want policyReads
	}{
		{"unrelated fields", `x if input.tool.name == "a"
y if input.task.scopes[_] == "b"
z := object.get(input, ["task", "id"], "")`, policyReads{}},
		{"the budget", `x if input.task.calls_used > 3`, policyReads{callsUsed: true}},
		{"the call id", `x if input.call.id == "a"`, policyReads{callID: true}},
		{"the task as a whole", `t := input.task`, policyReads{callsUsed: true}},
		{"a computed key", `x if input.task[k] == 1`, policyReads{callsUsed: true}},
		{"a computed key at the top", `x if input[k].id == 1`, policyReads{callID: true, callsUsed: true}},
		{"input as a whole", `x := input`, policyReads{callID: true, callsUsed: true}},
		{"input passed to a function", `x := json.marshal(input)`, policyReads{callID: true, callsUsed: true}},
		{"object.get with the budget", `x := object.get(input, ["task", "calls_used"], 0)`, policyReads{callsUsed: true}},
		{"object.get with a computed path", `x := object.get(input, [k], 0) if k := "task"`, policyReads{callID: true, callsUsed: true}},
		{"object.get on the call", `x := object.get(input.call, "id", "")`, policyReads{callID: true}},
		{"an import", "import input.task as t\nx := t.calls_used", policyReads{callsUsed: true}},
		{"a key computed from input", `x := data.d[input.call.id]`, policyReads{callID: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanReads(parsed(t, map[string]string{"p.rego": "package p\n" + tt.body + "\n"}))
			require.Equal(t, tt.want, got)
		})
	}
	t.Run("the default policy reads neither", func(t *testing.T) {
		require.Equal(t, policyReads{}, scanReads(parsed(t, DefaultPolicy())))
	})
}

func parsed(t *testing.T, srcs map[string]string) map[string]*ast.Module {
	t.Helper()
	mods := map[string]*ast.Module{}
	for name, src := range srcs {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		require.NoError(t, err)
		mods[name] = m
	}
	return mods
}
