package authz

import (
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// memoPrefixes are the parts of the input a memoized rule may read: who asks
// and which tool, as the guard declared it. Both repeat from call to call;
// everything else (arguments, destinations, task, context, time) does not.
var memoPrefixes = []string{"subject", "tool"}

// standardBuiltins are OPA's own builtins, by name and infix operator. It is
// built from ast.DefaultBuiltins, not ast.BuiltinMap: rego.RegisterBuiltinN
// and ast.RegisterBuiltin add custom builtins to BuiltinMap (and Builtins),
// never to DefaultBuiltins, and a custom builtin is opaque to this analysis
// whatever it declares.
var standardBuiltins = func() map[string]*ast.Builtin {
	m := make(map[string]*ast.Builtin, 2*len(ast.DefaultBuiltins))
	for _, b := range ast.DefaultBuiltins {
		m[b.Name] = b
		if b.Infix != "" {
			m[b.Infix] = b
		}
	}
	return m
}()

// sideEffects are deterministic builtins whose call is itself the point, so a
// rule that calls them is evaluated every time.
var sideEffects = map[string]bool{"print": true, "internal.print": true, "trace": true}

// memoizableRules compiles modules on their own and returns the paths of the
// rules whose value is a function of data, input.subject and input.tool only:
// rules that are not functions, have a ground head, share their path with no
// other kind of rule, use no `with`, call only deterministic standard
// builtins (custom builtins are opaque, so they disqualify), and refer only
// to rules that qualify too. Such a rule has the same value for every call by
// the same agent to the same tool under one revision of the policy.
//
// The analysis errs towards "not memoizable": a reference it cannot resolve
// to rules it has checked disqualifies. A compile error returns no rules, so
// the engine then evaluates everything, as OPA alone would.
func memoizableRules(modules map[string]*ast.Module) []ast.Ref {
	var out []ast.Ref
	// The analysis runs right after references are resolved and the rule
	// tree is built: every name is a full data path by then, and later
	// stages have not yet moved `input` into compiler-made local variables,
	// which would hide what it reads.
	c := ast.NewCompiler().WithStageAfterID(ast.StageSetRuleTree, ast.CompilerStageDefinition{
		Name: "ztagentMemoizableRules", MetricName: "ztagent_memoizable_rules",
		Stage: func(c *ast.Compiler) *ast.Error {
			out = stableRules(c)
			return nil
		},
	})
	if c.Compile(modules); c.Failed() {
		return nil
	}
	return out
}

func stableRules(c *ast.Compiler) []ast.Ref {
	a := &stability{c: c, memo: map[*ast.Rule]bool{}, busy: map[*ast.Rule]bool{}}
	var out []ast.Ref
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(c.Modules)) {
		for _, r := range c.Modules[name].Rules {
			path := r.Ref()
			if !path.IsGround() || len(r.Head.Args) > 0 || seen[path.String()] {
				continue
			}
			seen[path.String()] = true
			if a.pathStable(path) {
				out = append(out, path)
			}
		}
	}
	return out
}

type stability struct {
	c    *ast.Compiler
	memo map[*ast.Rule]bool
	busy map[*ast.Rule]bool
}

// pathStable: every rule at path, and under it, qualifies, and none is a
// function (a function's cache key carries its arguments).
func (a *stability) pathStable(path ast.Ref) bool {
	rules := a.c.GetRulesWithPrefix(path)
	if len(rules) == 0 || len(rules) != len(a.c.GetRulesExact(path)) {
		return false
	}
	for _, r := range rules {
		if len(r.Head.Args) > 0 || !a.rule(r) {
			return false
		}
	}
	return true
}

// rule reports whether r's value depends only on data and the memo prefixes
// of the input. Rego has no recursion, but a rule met again while it is
// being checked counts as unstable all the same.
func (a *stability) rule(r *ast.Rule) bool {
	if ok, done := a.memo[r]; done {
		return ok
	}
	if a.busy[r] {
		return false
	}
	a.busy[r] = true
	ok := true
	for x := r; x != nil && ok; x = x.Else {
		// The head's own reference names the rule; its key and value are
		// what it computes.
		ok = a.optional(x.Head.Key) && a.optional(x.Head.Value) && a.node(x.Body)
	}
	delete(a.busy, r)
	a.memo[r] = ok
	return ok
}

func (a *stability) optional(t *ast.Term) bool { return t == nil || a.node(t) }

// node walks any AST node and reports whether everything it reads and calls
// qualifies.
func (a *stability) node(x any) bool {
	ok := true
	vis := ast.NewGenericVisitor(func(n any) bool {
		if !ok {
			return true
		}
		switch v := n.(type) {
		case *ast.Expr:
			if len(v.With) > 0 {
				ok = false
				return true
			}
			if ts, isCall := v.Terms.([]*ast.Term); isCall {
				ok = a.call(ts)
				return true
			}
		case ast.Call:
			ok = a.call(v)
			return true
		case ast.Ref:
			ok = a.ref(v)
			return true
		case ast.Var:
			// A bare `input` or `data` reads the whole document.
			if v.Equal(ast.InputRootDocument.Value) || v.Equal(ast.DefaultRootDocument.Value) {
				ok = false
			}
		}
		return false
	})
	vis.Walk(x)
	return ok
}

// call checks an operator and its operands. object.get(input, <constant
// path>, default) reads input.<path>, so it qualifies like that reference.
func (a *stability) call(ts []*ast.Term) bool {
	if len(ts) == 0 {
		return false
	}
	op, ok := ts[0].Value.(ast.Ref)
	if !ok {
		return false
	}
	operands := ts[1:]
	if path, isGet := objectGetOfInput(ast.Call(ts[:min(len(ts), 4)])); isGet {
		if !memoPath(path) {
			return false
		}
		operands = ts[3:]
	}
	if op.HasPrefix(ast.DefaultRootRef) {
		if !a.rules(op) {
			return false
		}
	} else {
		name := op.String()
		b, std := standardBuiltins[name]
		// A standard name registered again with a custom implementation
		// replaces it in BuiltinMap (and in topdown): custom too.
		if !std || ast.BuiltinMap[name] != b || b.Nondeterministic || sideEffects[name] {
			return false
		}
	}
	for _, t := range operands {
		if !a.node(t) {
			return false
		}
	}
	return true
}

// ref checks one reference: into the input only under the memo prefixes;
// into data only where every rule it may reach qualifies (plain data is
// fixed for a revision); computed keys are checked as terms.
func (a *stability) ref(r ast.Ref) bool {
	switch {
	case r.HasPrefix(ast.InputRootRef):
		path := constPrefix(r[1:])
		if !memoPath(path) {
			return false
		}
	case r.HasPrefix(ast.DefaultRootRef):
		if !a.rules(r) {
			return false
		}
	default:
		if !a.node(r[0]) {
			return false
		}
	}
	for _, t := range r[1:] {
		if !a.node(t) {
			return false
		}
	}
	return true
}

func (a *stability) rules(r ast.Ref) bool {
	for _, rule := range a.c.GetRulesDynamicWithOpts(r, ast.RulesOptions{IncludeHiddenModules: true}) {
		if !a.rule(rule) {
			return false
		}
	}
	return true
}

func memoPath(path []string) bool {
	if len(path) == 0 {
		return false
	}
	for _, p := range memoPrefixes {
		if path[0] == p {
			return true
		}
	}
	return false
}
