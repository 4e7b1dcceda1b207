package authz

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputValue builds the OPA value of an input directly from the typed
// fields, without a JSON round trip. The parts that repeat from call to call
// — the subject and the tool — are converted once and reused from a cache.
// Nil slices become empty arrays: a policy writing count(input.context.taint)
// must see 0, not a type error on null. The result is the same value that
// encoding the Input as JSON would give (tested, and fuzzed).
func (e *Engine) inputValue(in *Input) (ast.Value, error) {
	args := ast.NullTerm()
	if len(in.Call.Args) > 0 {
		v, err := ast.ValueFromReader(bytes.NewReader(in.Call.Args))
		if err != nil {
			return nil, fmt.Errorf("call.args: %w", err)
		}
		args = ast.NewTerm(v)
	}
	call := ast.NewObject(
		item("id", ast.StringTerm(in.Call.ID)),
		item("args", args),
		item("args_digest", ast.StringTerm(in.Call.ArgsDigest)),
		item("destinations", destinationsTerm(in.Call.Destinations)),
	)
	return ast.NewObject(
		item("subject", e.terms.subject(in.Subject)),
		item("principal", principalTerm(in.Principal)),
		item("task", taskTerm(in.Task)),
		item("tool", e.terms.tool(in.Tool)),
		item("call", ast.NewTerm(call)),
		item("context", contextTerm(in.Context)),
		item("time", timeTerm(in.Time)),
	), nil
}

func item(k string, v *ast.Term) [2]*ast.Term { return ast.Item(ast.StringTerm(k), v) }

func stringArray(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(ts...)
}

// timeTerm renders time as encoding/json does (RFC 3339 with nanoseconds).
func timeTerm(t time.Time) *ast.Term { return ast.StringTerm(t.Format(time.RFC3339Nano)) }

func principalTerm(p Principal) *ast.Term {
	o := ast.NewObject(item("chain", stringArray(p.Chain)))
	if p.User != "" {
		o.Insert(ast.StringTerm("user"), ast.StringTerm(p.User))
	}
	return ast.NewTerm(o)
}

func taskTerm(t Task) *ast.Term {
	o := ast.NewObject(item("scopes", stringArray(t.Scopes)), item("calls_used", ast.IntNumberTerm(t.CallsUsed)))
	if t.ID != "" {
		o.Insert(ast.StringTerm("id"), ast.StringTerm(t.ID))
	}
	if t.Purpose != "" {
		o.Insert(ast.StringTerm("purpose"), ast.StringTerm(t.Purpose))
	}
	if t.ExpiresAt != nil {
		o.Insert(ast.StringTerm("expires_at"), timeTerm(*t.ExpiresAt))
	}
	return ast.NewTerm(o)
}

func destinationsTerm(ds []Destination) *ast.Term {
	ts := make([]*ast.Term, len(ds))
	for i, d := range ds {
		o := ast.NewObject(item("kind", ast.StringTerm(d.Kind)))
		for _, f := range [...]struct{ k, v string }{{"scheme", d.Scheme}, {"host", d.Host}, {"path", d.Path}, {"address", d.Address}} {
			if f.v != "" {
				o.Insert(ast.StringTerm(f.k), ast.StringTerm(f.v))
			}
		}
		if d.Port != 0 {
			o.Insert(ast.StringTerm("port"), ast.IntNumberTerm(d.Port))
		}
		if d.Flagged {
			o.Insert(ast.StringTerm("flagged"), ast.BooleanTerm(true))
		}
		ts[i] = ast.NewTerm(o)
	}
	return ast.ArrayTerm(ts...)
}

func contextTerm(c Context) *ast.Term {
	o := ast.NewObject(item("taint", stringArray(c.Taint)))
	if c.ConversationID != "" {
		o.Insert(ast.StringTerm("conversation_id"), ast.StringTerm(c.ConversationID))
	}
	return ast.NewTerm(o)
}

// maxCachedTerms bounds each cache: subjects and tools are few in a real
// deployment; past the bound terms are built per call instead.
const maxCachedTerms = 4096

// termCache holds the converted static parts of inputs. Terms are never
// mutated after they are built, so sharing them across decisions is safe.
type termCache struct {
	subjects sync.Map // Subject → *ast.Term
	tools    sync.Map // Tool → *ast.Term
	mu       sync.Mutex
	n        int
}

func (c *termCache) subject(s Subject) *ast.Term {
	if t, ok := c.subjects.Load(s); ok {
		return t.(*ast.Term)
	}
	t := ast.NewTerm(ast.NewObject(item("spiffe_id", ast.StringTerm(s.SPIFFEID)), item("trust_domain", ast.StringTerm(s.TrustDomain))))
	c.store(&c.subjects, s, t)
	return t
}

func (c *termCache) tool(tl Tool) *ast.Term {
	if t, ok := c.tools.Load(tl); ok {
		return t.(*ast.Term)
	}
	t := ast.NewTerm(ast.NewObject(item("name", ast.StringTerm(tl.Name)), item("effect", ast.StringTerm(tl.Effect)), item("risk", ast.StringTerm(tl.Risk))))
	c.store(&c.tools, tl, t)
	return t
}

func (c *termCache) store(m *sync.Map, k any, t *ast.Term) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n < maxCachedTerms {
		m.Store(k, t)
		c.n++
	}
}
