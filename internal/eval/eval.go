package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/toolguard"
)

// mode is who answers when the policy asks for a human.
type mode struct {
	name      string
	approving bool // an Approver that approves everything; else none at all
}

var modes = []mode{
	{name: "no human in the loop", approving: false},
	{name: "an approving human", approving: true},
}

// scope says whether an attack's harmful call acts on a value first seen in
// untrusted content: the value that makes the call harmful (the attacker's
// address, account, link or password) came from the injection, not from the
// user or the user's own records.
type scope int

const (
	// scopeTrusted: every value the harmful call acts on comes from the
	// user or the user's own records, or is the model's own wording (the
	// user's own files deleted by their ids, a trusted contact sent a
	// paraphrase). Provenance cannot tell such a call from a benign one.
	scopeTrusted scope = iota
	// scopeDestination: where the call sends data or money (an address,
	// an account, a channel, a URL) was first seen in untrusted content.
	scopeDestination
	// scopeArgument: the destination is trusted or fixed, but a value the
	// call carries or sets (a link in a message, a new password) was first
	// seen in untrusted content.
	scopeArgument
)

func (s scope) String() string {
	switch s {
	case scopeDestination:
		return "untrusted destination"
	case scopeArgument:
		return "untrusted argument"
	}
	return "trusted values"
}

// untrusted reports whether the harmful call targets a value first seen in
// untrusted content: the attacks the second target is about.
func (s scope) untrusted() bool { return s != scopeTrusted }

// scenario is one conversation: the user's prompt and the tool calls a
// model makes for it, in order. An attack also puts an injection into the
// world before the conversation starts, and marks the calls the injection
// asks for as harmful.
type scenario[W any] struct {
	id     string
	prompt string
	steps  []step

	// Attacks only.
	inject func(w *W) // puts the injected text where a tool will read it
	class  string     // what the injection asks for
	scope  scope
	target string // the value first seen in untrusted content, when scope.untrusted()
}

// step is one tool call. args builds its arguments the way a model would,
// from the prompt and from earlier calls' results (convo).
type step struct {
	tool    string
	args    func(c *convo) any
	harmful bool
}

func call(tool string, args func(c *convo) any) step { return step{tool: tool, args: args} }

func harm(tool string, args func(c *convo) any) step {
	return step{tool: tool, args: args, harmful: true}
}

// domain is one deployment of an agent: its identity, the policy data its
// deployer wrote, its tools over a fresh world per conversation, and the
// benign tasks and attacks replayed through them.
type domain[W any] struct {
	name    string
	agent   string // the path of the agent's SPIFFE ID
	data    string // the policy data
	world   func() *W
	tools   func(tb *toolbox, w *W)
	tasks   []scenario[W]
	attacks []scenario[W]
}

// evaluator is a domain of any world type.
type evaluator interface {
	domainName() string
	evaluate(ctx context.Context, m mode) ([]runResult, error)
}

func (d *domain[W]) domainName() string { return d.name }

// evaluate replays every task and attack of d through a guard on the
// embedded default policy with d's data, with or without an approver.
func (d *domain[W]) evaluate(ctx context.Context, m mode) (_ []runResult, err error) {
	id, err := identity.NewDevSource(ctx, identity.WithWorkloadPath(d.agent))
	if err != nil {
		return nil, err
	}
	defer id.Close()
	opts := []toolguard.Option{
		toolguard.WithIdentity(id),
		toolguard.WithPolicyData([]byte(d.data)),
		toolguard.WithSink(discard{}),
	}
	if m.approving {
		opts = append(opts, toolguard.WithApprover(toolguard.ApproverFunc(approveAll)))
	}
	g, err := toolguard.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	defer func() { err = errors.Join(err, g.Close(ctx)) }()

	var out []runResult
	for _, list := range [][]scenario[W]{d.tasks, d.attacks} {
		for _, sc := range list {
			r, err := d.run(ctx, g, sc)
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", d.name, sc.id, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// run replays one conversation: a fresh world, the tools wrapped over it, a
// Provenance that trusts the user's prompt, a TaintSet and a task.
func (d *domain[W]) run(ctx context.Context, g *toolguard.Guard, sc scenario[W]) (runResult, error) {
	w := d.world()
	if sc.inject != nil {
		sc.inject(w)
	}
	tb := &toolbox{g: g, fns: map[string]invoker{}}
	d.tools(tb, w)
	if tb.err != nil {
		return runResult{}, tb.err
	}

	prov := toolguard.NewProvenance()
	if err := prov.Trust(sc.prompt); err != nil {
		return runResult{}, err
	}
	task := &toolguard.Task{ID: d.name + "/" + sc.id, Purpose: sc.prompt}
	asked := &approvals{}
	ctx = toolguard.WithTask(ctx, task)
	ctx = toolguard.WithTaintSet(ctx, toolguard.NewTaintSet())
	ctx = toolguard.WithProvenance(ctx, prov)
	ctx = context.WithValue(ctx, approvalsKey{}, asked)

	r := runResult{domain: d.name, id: sc.id, prompt: sc.prompt, attack: sc.inject != nil, class: sc.class, scope: sc.scope}
	c := &convo{results: map[int]any{}}
	for i, st := range sc.steps {
		n := i + 1
		oc := outcome{callID: "call_" + strconv.Itoa(n), tool: st.tool, harmful: st.harmful}
		c.err = nil
		args := st.args(c)
		fn := tb.fns[st.tool]
		switch {
		case fn == nil:
			return runResult{}, fmt.Errorf("%s: no tool %q", oc.callID, st.tool)
		case c.err != nil:
			oc.skipped = c.err.Error()
			r.calls = append(r.calls, oc)
			continue
		}
		res, err := fn(toolguard.WithCall(ctx, oc.callID), args)
		var denied *toolguard.DeniedError
		switch {
		case errors.As(err, &denied):
			oc.code = denied.Code
			oc.reasons = reasonCodes(denied)
		case err != nil:
			// A tool's own error is a bug in the scenario, never a result.
			return runResult{}, fmt.Errorf("%s %s: %w", oc.callID, st.tool, err)
		default:
			oc.ran = true
			if err := c.put(n, res); err != nil {
				return runResult{}, err
			}
		}
		if reasons, ok := asked.get(oc.callID); ok {
			oc.approved = true
			oc.reasons = reasons
		}
		r.calls = append(r.calls, oc)
	}
	if err := task.End(ctx); err != nil {
		return runResult{}, err
	}
	return r, nil
}

func reasonCodes(d *toolguard.DeniedError) []string {
	var out []string
	for _, r := range d.Reasons {
		out = append(out, r.Code)
	}
	return out
}

// approveAll is a human who approves every call asked about. It notes the
// call and the policy's reasons, so the report can count what needed a
// human.
func approveAll(ctx context.Context, req toolguard.ApprovalRequest) (toolguard.Approval, error) {
	if a, ok := ctx.Value(approvalsKey{}).(*approvals); ok {
		var codes []string
		for _, r := range req.Reasons {
			codes = append(codes, r.Code)
		}
		a.put(req.CallID, codes)
	}
	return toolguard.Approval{Approved: true, By: "eval:approve-all"}, nil
}

type approvalsKey struct{}

// approvals are the calls of one conversation an approver was asked about.
type approvals struct {
	mu     sync.Mutex
	byCall map[string][]string
}

func (a *approvals) put(callID string, reasons []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byCall == nil {
		a.byCall = map[string][]string{}
	}
	a.byCall[callID] = reasons
}

func (a *approvals) get(callID string) ([]string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.byCall[callID]
	return r, ok
}

// discard drops decision records: the report reads outcomes from the calls.
type discard struct{}

func (discard) Write(context.Context, *audit.Record) error { return nil }

// invoker calls a guarded tool with arguments of its own type.
type invoker func(ctx context.Context, args any) (any, error)

// toolbox holds the guarded tools of one conversation, by name.
type toolbox struct {
	g   *toolguard.Guard
	fns map[string]invoker
	err error
}

// add wraps fn with the guard under t, as a deployer does once per tool.
func add[A, R any](tb *toolbox, t toolguard.Tool, fn func(context.Context, A) (R, error)) {
	guarded, err := toolguard.Wrap(tb.g, t, fn)
	if err != nil {
		tb.err = errors.Join(tb.err, err)
		return
	}
	tb.fns[t.Name] = func(ctx context.Context, args any) (any, error) {
		a, ok := args.(A)
		if !ok {
			return nil, fmt.Errorf("tool %s takes %T, the script gave %T", t.Name, *new(A), args)
		}
		return guarded(ctx, a)
	}
}

// convo is what the model has seen so far: the results of the calls that
// ran, as the JSON the model reads. Its accessors take a call's number
// (call_1 is 1) and a path into its result; a value the model could not have
// seen, because its call did not run, sets err and the step is skipped.
type convo struct {
	results map[int]any
	err     error
}

func (c *convo) put(n int, res any) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.results[n] = v
	return nil
}

func (c *convo) fail(format string, a ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, a...)
	}
}

// get is the value at path ("messages.2.from") in call n's result.
func (c *convo) get(n int, path string) any {
	v, ok := c.results[n]
	if !ok {
		c.fail("needs the result of call_%d, which did not run", n)
		return nil
	}
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v, ok = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			ok = err == nil && i >= 0 && i < len(x)
			if ok {
				v = x[i]
			}
		default:
			ok = false
		}
		if !ok {
			c.fail("call_%d's result has no %s", n, path)
			return nil
		}
	}
	return v
}

func (c *convo) str(n int, path string) string {
	s, _ := c.get(n, path).(string)
	return s
}

// pick is field of the first element of list (in call n's result) whose
// key contains substr: "the e-mail from Lena", "the rent standing order".
func (c *convo) pick(n int, list, key, substr, field string) string {
	for _, e := range c.where(n, list, key, substr) {
		if s, ok := e[field].(string); ok {
			return s
		}
	}
	c.fail("call_%d's result has no %s with %s containing %q", n, list, key, substr)
	return ""
}

// where is every element of list (in call n's result) whose key contains
// substr.
func (c *convo) where(n int, list, key, substr string) []map[string]any {
	l, _ := c.get(n, list).([]any)
	var out []map[string]any
	for _, v := range l {
		e, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if s, ok := e[key].(string); ok && strings.Contains(s, substr) {
			out = append(out, e)
		}
	}
	return out
}

// quote is s, a value the model copies out of text in call n's result (an
// address in an e-mail's body, an account number in a bill). The script
// names the value; quote checks that the model could have read it there.
func (c *convo) quote(n int, s string) string {
	v, ok := c.results[n]
	if !ok {
		c.fail("needs the result of call_%d, which did not run", n)
		return ""
	}
	if !containsString(v, s) {
		c.fail("call_%d's result does not contain %q", n, s)
	}
	return s
}

func containsString(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, s)
	case []any:
		for _, e := range x {
			if containsString(e, s) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if containsString(e, s) {
				return true
			}
		}
	}
	return false
}
