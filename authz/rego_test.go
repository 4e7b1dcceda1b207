package authz

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/stretchr/testify/require"
)

// TestDefaultPolicyRegoUnitTests runs the Rego unit tests shipped next to the
// default policy (authz/policy/*_test.rego), as `opa test` would, with
// builtin errors raised like the engine's strict mode.
func TestDefaultPolicyRegoUnitTests(t *testing.T) {
	t.Parallel()
	sources := DefaultPolicy()
	tests := defaultPolicyTests()
	require.NotEmpty(t, sources)
	require.NotEmpty(t, tests)
	maps.Copy(sources, tests)

	modules := make(map[string]*ast.Module, len(sources))
	for name, src := range sources {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		require.NoError(t, err, name)
		modules[name] = m
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := tester.NewRunner().
		SetModules(modules).
		RaiseBuiltinErrors(true).
		SetParallel(2).
		RunTests(ctx, nil)
	require.NoError(t, err)

	ran := 0
	for r := range ch {
		ran++
		if !r.Pass() || r.Skip {
			t.Errorf("rego test %s.%s (%s): fail=%v skip=%v err=%v\n%s", r.Package, r.Name, r.Location, r.Fail, r.Skip, r.Error, r.Output)
		}
	}
	require.Positive(t, ran, "no Rego tests ran")
	t.Logf("%d Rego tests ran", ran)
}

// TestEveryPolicyCodeIsTested keeps the Rego tests honest: every reason code
// the default policy can emit is asserted by at least one Rego test.
func TestEveryPolicyCodeIsTested(t *testing.T) {
	t.Parallel()
	codeRe := regexp.MustCompile(`"code":\s*"([a-z_]+)"`)
	var policy, tests strings.Builder
	for _, src := range DefaultPolicy() {
		policy.WriteString(src)
	}
	for _, src := range defaultPolicyTests() {
		tests.WriteString(src)
	}
	var codes []string
	for _, m := range codeRe.FindAllStringSubmatch(policy.String(), -1) {
		codes = append(codes, m[1])
	}
	slices.Sort(codes)
	codes = slices.Compact(codes)
	require.Subset(t, codes, []string{
		"allowed", "tool_not_granted", "destination_not_allowed", "destination_kind_unknown",
		"external_without_destination", "task_expired", "unknown_effect",
		"write_requires_approval", "high_risk_requires_approval", "tainted_context_requires_approval",
		"tool_setting_requires_approval", "unknown_approval_setting_requires_approval", "argument_injection",
	})
	for _, code := range codes {
		require.Contains(t, tests.String(), `"`+code+`"`, "no Rego test asserts %s", code)
	}
}

func TestDefaultPolicyExcludesTests(t *testing.T) {
	t.Parallel()
	for name := range DefaultPolicy() {
		require.False(t, strings.HasSuffix(name, "_test.rego"), name)
		require.True(t, strings.HasPrefix(name, "policy/"), name)
	}
}
