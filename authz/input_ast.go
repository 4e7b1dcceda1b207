package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/ztagent/ztagent/internal/jsonenc"
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
	context := func() *ast.Term { return contextTerm(in.Context) }
	ctxTerm := context()
	if !in.Context.TracksProvenance && !in.Context.ProvenanceOverflow { // the cache is keyed by conversation and taint only
		ctxTerm = cachedList(&e.terms.contexts, in.Context.ConversationID, in.Context.Taint, context)
	}
	doc := ast.NewObject(
		ast.Item(kSubject, e.terms.subjects.get(in.Subject, subjectTerm)),
		ast.Item(kPrincipal, cachedList(&e.terms.principals, in.Principal.User, in.Principal.Chain, func() *ast.Term { return principalTerm(in.Principal) })),
		ast.Item(kTask, taskTerm(in.Task)),
		ast.Item(kTool, e.terms.tools.get(in.Tool, toolTerm)),
		ast.Item(kCall, ast.NewTerm(call)),
		ast.Item(kContext, ctxTerm),
		ast.Item(kTime, timeTerm(in.Time)),
	)
	if len(in.Provenance) > 0 {
		doc.Insert(kProvenance, provenanceTerm(in.Provenance))
	}
	if in.Usage != nil {
		doc.Insert(kUsage, usageTerm(*in.Usage))
	}
	if in.Peer != nil {
		doc.Insert(kPeer, peerTerm(*in.Peer))
	}
	return doc, nil
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
	kProvenance, kUsage, kTrusted      = str("provenance"), str("usage"), str("trusted")
	kPeer                              = str("peer")
	kUntrusted, kSources, kAgent       = str("untrusted"), str("sources"), str("agent")
	kTaskScope, kCalls, kSum           = str("task"), str("calls"), str("sum")
	kDestinationsCount                 = str("destinations")
	kProvenanceOverflow                = str("provenance_overflow")
	kTracksProvenance                  = str("tracks_provenance")
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

// peerTerm writes only what is set, as encoding/json's omitempty does.
func peerTerm(p Peer) *ast.Term {
	o := ast.NewObject()
	if p.ID != "" {
		o.Insert(kID, str(p.ID))
	}
	if len(p.Chain) > 0 {
		o.Insert(kChain, stringArray(p.Chain))
	}
	if len(p.Taint) > 0 {
		o.Insert(kTaint, stringArray(p.Taint))
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
	if c.TracksProvenance {
		o.Insert(kTracksProvenance, ast.BooleanTerm(true))
	}
	if c.ProvenanceOverflow {
		o.Insert(kProvenanceOverflow, ast.BooleanTerm(true))
	}
	return ast.NewTerm(o)
}

func provenanceTerm(p map[string]Origin) *ast.Term {
	o := ast.NewObject()
	for path, origin := range p {
		v := ast.NewObject(ast.Item(kTrusted, ast.BooleanTerm(origin.Trusted)), ast.Item(kUntrusted, ast.BooleanTerm(origin.Untrusted)))
		if len(origin.Sources) > 0 {
			v.Insert(kSources, stringArray(origin.Sources))
		}
		o.Insert(str(path), ast.NewTerm(v))
	}
	return ast.NewTerm(o)
}

func usageTerm(u Usage) *ast.Term {
	o := ast.NewObject()
	for _, scope := range [...]struct {
		k     *ast.Term
		tools map[string]ToolUsage
	}{{kAgent, u.Agent}, {kTaskScope, u.Task}} {
		if len(scope.tools) == 0 {
			continue
		}
		tools := ast.NewObject()
		for name, tu := range scope.tools {
			t := ast.NewObject(ast.Item(kCalls, numberTerm(tu.Calls)), ast.Item(kDestinationsCount, numberTerm(tu.Destinations)))
			if len(tu.Sum) > 0 {
				sums := ast.NewObject()
				for arg, v := range tu.Sum {
					sums.Insert(str(arg), numberTerm(v))
				}
				t.Insert(kSum, ast.NewTerm(sums))
			}
			tools.Insert(str(name), ast.NewTerm(t))
		}
		o.Insert(scope.k, ast.NewTerm(tools))
	}
	return ast.NewTerm(o)
}

// numberTerm is f as encoding/json writes it, so the document is the one
// the JSON encoding of the input gives.
func numberTerm(f float64) *ast.Term {
	b, err := jsonenc.AppendFloat(nil, f)
	if err != nil { // NaN or an infinity: encoding/json refuses them too
		return ast.NullTerm()
	}
	return ast.NumberTerm(json.Number(b))
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
