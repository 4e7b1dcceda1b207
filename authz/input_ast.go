package authz

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputValue builds the OPA value of an input directly from the typed
// fields, without a JSON round trip. The parts that repeat from call to call
// — subject, tool, principal and context —
// are converted once and reused from a cache; field names are terms made
// once. Nil slices become empty arrays: a policy writing
// count(input.context.taint) must see 0, not a type error on null. The
// result is the same value that encoding the Input as JSON would give
// (tested, and fuzzed).
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
		ast.Item(kID, str(in.Call.ID)),
		ast.Item(kArgs, args),
		ast.Item(kArgsDigest, str(in.Call.ArgsDigest)),
		ast.Item(kDestinations, destinationsTerm(in.Call.Destinations)),
	)
	return ast.NewObject(
		ast.Item(kSubject, e.terms.subjects.get(in.Subject, subjectTerm)),
		ast.Item(kPrincipal, cachedList(&e.terms.principals, in.Principal.User, in.Principal.Chain, func() *ast.Term { return principalTerm(in.Principal) })),
		ast.Item(kTask, taskTerm(in.Task)),
		ast.Item(kTool, e.terms.tools.get(in.Tool, toolTerm)),
		ast.Item(kCall, ast.NewTerm(call)),
		ast.Item(kContext, cachedList(&e.terms.contexts, in.Context.ConversationID, in.Context.Taint, func() *ast.Term { return contextTerm(in.Context) })),
		ast.Item(kTime, timeTerm(in.Time)),
	), nil
}

// The field names of the input document, made once. Terms are never changed
// once built, so every input shares them.
var (
	kSubject, kPrincipal, kTask, kTool = ast.StringTerm("subject"), ast.StringTerm("principal"), ast.StringTerm("task"), ast.StringTerm("tool")
	kCall, kContext, kTime             = str("call"), str("context"), str("time")
	kSPIFFEID, kTrustDomain            = str("spiffe_id"), str("trust_domain")
	kUser, kChain                      = str("user"), str("chain")
	kPurpose, kScopes                  = str("purpose"), str("scopes")
	kExpiresAt, kCallsUsed             = str("expires_at"), str("calls_used")
	kName, kEffect, kRisk              = str("name"), str("effect"), str("risk")
	kID, kArgs, kArgsDigest            = str("id"), str("args"), str("args_digest")
	kDestinations, kKind, kScheme      = str("destinations"), str("kind"), str("scheme")
	kHost, kPort, kPath, kAddress      = str("host"), str("port"), str("path"), str("address")
	kFlagged, kType                    = str("flagged"), str("type")
	kTaint, kConversationID            = str("taint"), str("conversation_id")
)

// str is a string term as JSON would carry it: each byte that is not valid
// UTF-8 becomes U+FFFD, as encoding/json writes it, so that the document a
// policy sees is the one the JSON form of the input would give.
func str(s string) *ast.Term {
	if utf8.ValidString(s) {
		return ast.StringTerm(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return ast.StringTerm(b.String())
}

func stringArray(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = str(s)
	}
	return ast.ArrayTerm(ts...)
}

// inputTimeLayout is how times appear in the input, as encoding/json
// renders them (RFC 3339 with nanoseconds, in the time's own zone). The
// decision cache key uses it too, so it keys what the policy sees.
const inputTimeLayout = time.RFC3339Nano

// timeTerm renders time as encoding/json does.
func timeTerm(t time.Time) *ast.Term { return str(t.Format(inputTimeLayout)) }

func subjectTerm(s Subject) *ast.Term {
	return ast.NewTerm(ast.NewObject(ast.Item(kSPIFFEID, str(s.SPIFFEID)), ast.Item(kTrustDomain, str(s.TrustDomain))))
}

func toolTerm(t Tool) *ast.Term {
	return ast.NewTerm(ast.NewObject(ast.Item(kName, str(t.Name)), ast.Item(kEffect, str(t.Effect)), ast.Item(kRisk, str(t.Risk))))
}

func principalTerm(p Principal) *ast.Term {
	o := ast.NewObject(ast.Item(kChain, stringArray(p.Chain)))
	if p.User != "" {
		o.Insert(kUser, str(p.User))
	}
	return ast.NewTerm(o)
}

// taskTerm is converted per call: calls_used changes every call.
func taskTerm(t Task) *ast.Term {
	o := ast.NewObject(ast.Item(kScopes, stringArray(t.Scopes)), ast.Item(kCallsUsed, ast.IntNumberTerm(t.CallsUsed)))
	if t.ID != "" {
		o.Insert(kID, str(t.ID))
	}
	if t.Purpose != "" {
		o.Insert(kPurpose, str(t.Purpose))
	}
	if t.ExpiresAt != nil {
		o.Insert(kExpiresAt, timeTerm(*t.ExpiresAt))
	}
	return ast.NewTerm(o)
}

func destinationsTerm(ds []Destination) *ast.Term {
	ts := make([]*ast.Term, len(ds))
	for i, d := range ds {
		o := ast.NewObject(ast.Item(kKind, str(d.Kind)))
		for _, f := range [...]struct {
			k *ast.Term
			v string
		}{{kType, d.Type}, {kScheme, d.Scheme}, {kHost, d.Host}, {kPath, d.Path}, {kAddress, d.Address}} {
			if f.v != "" {
				o.Insert(f.k, str(f.v))
			}
		}
		if d.Port != 0 {
			o.Insert(kPort, ast.IntNumberTerm(d.Port))
		}
		if d.Flagged {
			o.Insert(kFlagged, ast.BooleanTerm(true))
		}
		ts[i] = ast.NewTerm(o)
	}
	return ast.ArrayTerm(ts...)
}

func contextTerm(c Context) *ast.Term {
	o := ast.NewObject(ast.Item(kTaint, stringArray(c.Taint)))
	if c.ConversationID != "" {
		o.Insert(kConversationID, str(c.ConversationID))
	}
	return ast.NewTerm(o)
}

// listKey is a comparable key for a string and a short list of strings
// (a principal and its chain, a conversation and its taint labels). Longer
// lists are rare and are converted per call instead.
type listKey struct {
	first string
	list  [3]string
	n     int
}

func keyOf(first string, list []string) (k listKey, ok bool) {
	if len(list) > len(k.list) {
		return k, false
	}
	k.first, k.n = first, len(list)
	copy(k.list[:], list)
	return k, true
}

// cachedList is build() from c when k fits a listKey, else build() itself.
func cachedList(c *termMap[listKey], first string, list []string, build func() *ast.Term) *ast.Term {
	k, ok := keyOf(first, list)
	if !ok {
		return build()
	}
	return c.get(k, func(listKey) *ast.Term { return build() })
}

// maxCachedTerms bounds each cache: subjects, tools, principals, tasks and
// contexts are few at a time in a real deployment; past the bound the cache
// starts over.
const maxCachedTerms = 4096

// termCache holds the converted repeating parts of inputs. Terms are never
// mutated after they are built, so sharing them across decisions is safe.
type termCache struct {
	subjects   termMap[Subject]
	tools      termMap[Tool]
	principals termMap[listKey]
	contexts   termMap[listKey]
}

// termMap is a bounded map from a part of the input to its term.
type termMap[K comparable] struct {
	mu sync.RWMutex
	m  map[K]*ast.Term
}

func (c *termMap[K]) get(k K, build func(K) *ast.Term) *ast.Term {
	c.mu.RLock()
	t, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return t
	}
	t = build(k)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedTerms {
		c.m = make(map[K]*ast.Term)
	}
	c.m[k] = t
	c.mu.Unlock()
	return t
}
