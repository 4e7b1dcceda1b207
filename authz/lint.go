package authz

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/ztagent/ztagent/internal/jsonshape"
)

// ArgSchema is what one tool sends in input.call.args: dotted field paths such as "to", "req.urls".
// A path ending in ".*" means any key below it is allowed (free-form objects); "*" alone allows
// any argument at all.
type ArgSchema struct {
	Tool   string
	Fields []string
}

// LintFinding is one reference a policy makes to input that no caller sends.
type LintFinding struct {
	File     string
	Row, Col int
	Ref      string // the reference as written, e.g. input.call.args.recipient
	Message  string
}

// String returns "file:row:col: message", the form editors and CI logs link to.
func (f LintFinding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Row, f.Col, f.Message)
}

// Lint parses modules (filename -> rego v1 source; files ending in _test.rego are skipped) and reports
// every reference to input whose path is not part of the input document (the JSON shape of authz.Input,
// derived by reflection from its json tags so it can never drift) or, under input.call.args, not a field
// some tool in tools sends. A parse error is returned as an error naming file:line.
//
// Such a reference is always undefined at run time, and an undefined
// expression silently disables the rule that holds it: a deny rule that
// never fires is a policy that fails open.
//
// Lint checks refs rooted at input (also through `import input... as x`
// aliases) and object.get(input..., path, default) with a constant path.
// An array is entered with any index, constant or not
// (input.call.destinations[_].host is checked to the end); elsewhere,
// checking stops at the first element that is not a constant
// (input.call.args[k]), as its value is known only at run time. Lint cannot
// see input reached through a variable (some d in input.call.destinations;
// d.hots, or x := input), paths built at run time, nor
// other builtins that take paths (json.filter, object.remove...). Indexes
// under input.call.args are not checked, as schemas do not say which
// arguments are arrays. For object.get findings, Ref is the path the call reads.
func Lint(modules map[string]string, tools []ArgSchema) ([]LintFinding, error) {
	args, err := argsShape(tools)
	if err != nil {
		return nil, err
	}
	l := &linter{root: inputShape(), args: args, seen: map[string]bool{}}
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		if isRegoTest(name) {
			continue // tests feed inputs through `with input as`, they do not read them
		}
		mod, err := ast.ParseModuleWithOpts(name, modules[name], ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			if errs, ok := err.(ast.Errors); ok && len(errs) == 1 {
				err = errs[0] // drop "1 error occurred:", keep "file:line: ..."
			}
			return nil, fmt.Errorf("authz: lint: %w", err)
		}
		l.module(name, mod)
	}
	slices.SortFunc(l.findings, func(a, b LintFinding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Row, b.Row),
			cmp.Compare(a.Col, b.Col), cmp.Compare(a.Ref, b.Ref))
	})
	return l.findings, nil
}

type linter struct {
	root, args *shape
	file       string
	aliases    map[ast.Var]ast.Ref // import alias -> the input path it stands for
	seen       map[string]bool     // a term can be reached twice (head key and head ref)
	findings   []LintFinding
}

func (l *linter) module(file string, mod *ast.Module) {
	l.file = file
	l.aliases = map[ast.Var]ast.Ref{ast.InputRootDocument.Value.(ast.Var): {ast.InputRootDocument}}
	for _, imp := range mod.Imports {
		if p, ok := imp.Path.Value.(ast.Ref); ok && p.HasPrefix(ast.InputRootRef) {
			l.aliases[imp.Name()] = p
		}
	}
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool {
		switch x := x.(type) {
		case *ast.Head:
			// The generic visitor walks Key and Value but not a ref head (p.q[input.x] := 1).
			vis.Walk(x.Reference)
		case *ast.Expr:
			if ts, ok := x.Terms.([]*ast.Term); ok && x.IsCall() {
				l.call(vis, ts)
				for _, w := range x.With {
					vis.Walk(w)
				}
				return true
			}
		case *ast.Term:
			switch v := x.Value.(type) {
			case ast.Ref:
				if r, ok := l.resolve(v); ok {
					l.check(x.Location, v.String(), r)
				}
			case ast.Call:
				l.call(vis, v)
				return true
			}
		}
		return false // nested refs (data.agents[input.subject.spiffe_id]) need visiting too
	})
	vis.Walk(mod)
}

// resolve expands an import alias into the input path it stands for.
func (l *linter) resolve(r ast.Ref) (ast.Ref, bool) {
	v, ok := r[0].Value.(ast.Var)
	if !ok {
		return nil, false
	}
	base, ok := l.aliases[v]
	if !ok {
		return nil, false
	}
	return base.Concat(r[1:]), true
}

// call walks a call's operands but not its operator: with `import input.time`
// the builtin time.parse_rfc3339_ns is still a builtin, not an input path.
func (l *linter) call(vis *ast.GenericVisitor, ts []*ast.Term) {
	for _, t := range ts[1:] {
		vis.Walk(t)
	}
	l.objectGet(ts)
}

// objectGet checks object.get(input..., path, default): the default policy
// reads its facts this way, and a typo there is as silent as in a ref.
func (l *linter) objectGet(ts []*ast.Term) {
	base, keys, ok := objectGetArgs(ts)
	if !ok {
		return
	}
	r, ok := l.resolve(base)
	if !ok {
		return
	}
	r = r.Concat(keys)
	l.check(ts[2].Location, r.String(), r)
}

func (l *linter) check(loc *ast.Location, written string, r ast.Ref) {
	msg := l.undefined(r)
	if msg == "" {
		return
	}
	f := LintFinding{File: l.file, Ref: written, Message: msg}
	if loc != nil {
		f.Row, f.Col = loc.Row, loc.Col
	}
	if key := f.String() + "\x00" + f.Ref; !l.seen[key] {
		l.seen[key] = true
		l.findings = append(l.findings, f)
	}
}

// undefined walks r (rooted at input) down the input shape and says why it
// is always undefined, or returns "" if it may be defined.
func (l *linter) undefined(r ast.Ref) string {
	s := l.root
	var argPath []string
	for i := 1; i < len(r); i++ {
		if s.kind == shapeArgs {
			s = l.args
		}
		at, path := r[:i].String(), r[:i+1].String()
		switch key := r[i].Value.(type) {
		case ast.String:
			switch s.kind {
			case shapeAny:
				return ""
			case shapeObject:
				next, ok := s.fields[string(key)]
				if ok {
					if s.args {
						argPath = append(argPath, string(key))
					}
					s = next
					continue
				}
				if s.args {
					verb := "tools send"
					if len(argPath) > 0 {
						verb += " below " + strings.Join(argPath, ".")
					}
					return fmt.Sprintf("%s is undefined: no tool sends argument %q (%s)",
						path, strings.Join(append(argPath, string(key)), "."), s.has(verb))
				}
				return fmt.Sprintf("%s is undefined: %s has no field %q (%s)", path, at, string(key), s.has("it has"))
			case shapeArray:
				return fmt.Sprintf("%s is undefined: %s is an array (index it, e.g. %s[_])", path, at, at)
			default:
				return fmt.Sprintf("%s is undefined: %s is a %s", path, at, s.what)
			}
		case ast.Number:
			switch s.kind {
			case shapeAny:
				return ""
			case shapeArray:
				s = s.elem
			case shapeObject:
				if !s.args {
					return fmt.Sprintf("%s is undefined: %s is an object, not an array", path, at)
				}
			default:
				return fmt.Sprintf("%s is undefined: %s is a %s", path, at, s.what)
			}
		default:
			// A variable's value is known only at run time, but every
			// element of an array has the same shape, so only arrays go on.
			if s.kind != shapeArray {
				return ""
			}
			s = s.elem
		}
	}
	return ""
}

type shapeKind int

const (
	shapeObject shapeKind = iota // known fields; any other key is undefined
	shapeArray                   // any index reaches elem
	shapeScalar                  // string, number, boolean: nothing below
	shapeAny                     // maps, interfaces, "x.*" arguments: anything below
	shapeArgs                    // call.args: stands for the tools' argument shape
)

// shape is the JSON shape of the input document, or of the tools' arguments.
type shape struct {
	kind   shapeKind
	what   string            // shapeScalar: its JSON type, for messages
	fields map[string]*shape // shapeObject
	elem   *shape            // shapeArray
	args   bool              // built from ArgSchema: numeric indexes pass, as schemas do not say which arguments are arrays
}

func (s *shape) has(verb string) string {
	if len(s.fields) == 0 {
		return verb + " nothing"
	}
	return verb + " " + strings.Join(slices.Sorted(maps.Keys(s.fields)), ", ")
}

// inputShape is derived from Input once, by reflection, so a field added to
// or renamed in Input is seen by the linter without anyone updating it.
var inputShape = sync.OnceValue(func() *shape { return shapeOf(reflect.TypeFor[Input]()) })

// shapeOf converts the JSON shape of t (jsonshape, shared with toolguard)
// into the linter's tree: free-form values accept any path below them, and
// json.RawMessage (call.args) stands for the tools' argument shape.
func shapeOf(t reflect.Type) *shape {
	return fromJSONShape(jsonshape.Of(t), map[*jsonshape.Shape]*shape{})
}

func fromJSONShape(js *jsonshape.Shape, seen map[*jsonshape.Shape]*shape) *shape {
	if s, ok := seen[js]; ok {
		return s
	}
	s := &shape{}
	seen[js] = s
	switch js.Kind {
	case jsonshape.Object:
		s.kind, s.fields = shapeObject, make(map[string]*shape, len(js.Fields))
		for name, f := range js.Fields {
			s.fields[name] = fromJSONShape(f, seen)
		}
	case jsonshape.Array:
		s.kind, s.elem = shapeArray, fromJSONShape(js.Elem, seen)
	case jsonshape.String, jsonshape.Number, jsonshape.Bool:
		s.kind, s.what = shapeScalar, js.What
	case jsonshape.Raw:
		s.kind = shapeArgs
	default: // maps, interfaces, custom marshalers
		s.kind = shapeAny
	}
	return s
}

// argsShape merges the tools' fields into one tree: a reference is fine if
// any tool sends it, since a policy rule may apply to several tools.
func argsShape(tools []ArgSchema) (*shape, error) {
	root := &shape{kind: shapeObject, fields: map[string]*shape{}, args: true}
	for _, tool := range tools {
		for _, field := range tool.Fields {
			segs := strings.Split(field, ".")
			for i, seg := range segs {
				if seg == "" || (seg == "*" && i != len(segs)-1) {
					return nil, fmt.Errorf("authz: lint: tool %q: bad field path %q", tool.Tool, field)
				}
			}
			s := root
			for _, seg := range segs {
				if s.kind == shapeAny {
					break
				}
				if seg == "*" {
					s.kind = shapeAny
					break
				}
				next, ok := s.fields[seg]
				if !ok {
					next = &shape{kind: shapeObject, fields: map[string]*shape{}, args: true}
					s.fields[seg] = next
				}
				s = next
			}
		}
	}
	return root, nil
}
