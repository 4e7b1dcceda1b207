package authz

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// policyReads says which of the input fields the decision cache would like
// to leave out of its key a policy may read. It errs towards true: anything
// the scan cannot prove unread counts as read.
type policyReads struct {
	callID    bool // input.call.id
	callsUsed bool // input.task.calls_used
}

var (
	pathCallID    = []string{"call", "id"}
	pathCallsUsed = []string{"task", "calls_used"}
)

// scanReads looks at every reference to input in the modules the prepared
// query evaluates (all of them: those given with WithModule, a directory or
// a bundle, and any added through WithRegoOptions). A reference reads a
// path when its constant prefix and the path agree as far as both go:
// input.task reads input.task.calls_used (the whole object), so does
// input.task[k] and input itself; input.task.scopes does not.
// object.get(input, ["tool", "name"], d) with a constant path is read as the
// reference input.tool.name.
func scanReads(modules map[string]*ast.Module) policyReads {
	var r policyReads
	for _, mod := range modules {
		var visit func(t *ast.Term) bool
		visit = func(t *ast.Term) bool {
			switch v := t.Value.(type) {
			case ast.Var:
				if v.Equal(ast.InputRootDocument.Value) {
					r.note(nil)
				}
			case ast.Ref:
				if !v.HasPrefix(ast.InputRootRef) {
					return false
				}
				r.note(constPrefix(v[1:]))
				// Keys computed inside the reference are terms too.
				for _, k := range v[1:] {
					ast.WalkTerms(k, visit)
				}
				return true
			case ast.Call:
				if path, ok := objectGetOfInput(v); ok {
					r.note(path)
					ast.WalkTerms(v[3], visit) // the default
					return true
				}
			}
			return false
		}
		ast.WalkTerms(mod, visit)
	}
	return r
}

// note records a read of input.<path>. Whether the reference stops at path
// (the whole subtree) or goes on with a computed key, agreeing as far as both
// go is what makes it a possible read.
func (r *policyReads) note(path []string) {
	r.callID = r.callID || agree(path, pathCallID)
	r.callsUsed = r.callsUsed || agree(path, pathCallsUsed)
}

func agree(a, b []string) bool {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// constPrefix is the leading string keys of a reference's path: the cut
// ast.Ref.StringPrefix makes on the whole reference, as the keys the scans
// compare rather than as terms.
func constPrefix(ref ast.Ref) []string {
	var out []string
	for _, t := range ref {
		s, ok := t.Value.(ast.String)
		if !ok {
			break
		}
		out = append(out, string(s))
	}
	return out
}

var objectGet = ast.MustParseRef("object.get")

// objectGetArgs matches object.get(base, path, default) with base a
// variable or a reference and path one key or an array of keys, and returns
// base as a reference and path's keys: base with the keys appended is what
// the call reads. The linter and the read scans share it.
func objectGetArgs(c []*ast.Term) (base ast.Ref, keys []*ast.Term, ok bool) {
	if len(c) != 4 || c[0].Value.Compare(objectGet) != 0 {
		return nil, nil, false
	}
	switch v := c[1].Value.(type) {
	case ast.Var:
		base = ast.Ref{c[1]}
	case ast.Ref:
		base = v
	default:
		return nil, nil, false
	}
	switch p := c[2].Value.(type) {
	case ast.String:
		keys = c[2:3]
	case *ast.Array:
		keys = make([]*ast.Term, p.Len())
		for i := range p.Len() {
			keys[i] = p.Elem(i)
		}
	default:
		return nil, nil, false
	}
	return base, keys, true
}

// objectGetOfInput matches object.get(input, <constant path>, default).
func objectGetOfInput(c ast.Call) ([]string, bool) {
	base, keys, ok := objectGetArgs(c)
	if !ok || len(base) != 1 || !base.HasPrefix(ast.InputRootRef) {
		return nil, false
	}
	out := constPrefix(keys) // a constant path: every key a string
	return out, len(out) == len(keys)
}
