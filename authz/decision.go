package authz

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Decision is what a policy returns for one tool call. Only Allow == true
// lets the call run; everything else in it narrows what the call may do.
type Decision struct {
	Allow      bool            `json:"allow"`
	Reasons    []Reason        `json:"reasons"`
	Approval   Approval        `json:"approval"`
	Credential CredentialGrant `json:"credential"`
	Egress     Egress          `json:"egress"`
	Redact     []string        `json:"redact"`
	PolicyID   string          `json:"-"` // which policy decided (the query path), set by the engine
	Revision   string          `json:"-"` // "sha256:<hex>" of modules+data+query, set by the engine
	// DecisionID names this decision's event in the OPA decision log
	// (WithDecisionLogs), so an audit record can point at it; "" when
	// decision logs are off.
	DecisionID string `json:"-"`
	// Shadow is what the shadow policy (Engine.LoadShadow) would have
	// decided, when one is loaded. It never changes Allow.
	Shadow *ShadowResult `json:"-"`
	// CacheTTL is how long the policy lets this decision be reused for the
	// same input (the decision document's cache.ttl_seconds, clamped to
	// what a Duration holds); 0 means never.
	// Only an engine built with WithDecisionCache reuses decisions, and only
	// within the rules described there.
	CacheTTL time.Duration `json:"-"`
	// Cached says the decision was served from the decision cache, not
	// evaluated for this call.
	Cached bool `json:"-"`
	// Budgets are the uses of budgets the call makes: the guard reserves
	// them all, atomically, before the call runs, and denies with
	// budget_exceeded when one would pass its limit. A decision with
	// budgets is never reused from the decision cache.
	Budgets []BudgetUse `json:"budgets,omitempty"`
}

// BudgetUse is one use of one budget by a call.
type BudgetUse struct {
	Scope   string   `json:"scope"`             // "agent" or "task"
	Metric  string   `json:"metric"`            // "calls", "sum:<argument>" or "destinations"
	Amount  float64  `json:"amount"`            // for calls and sums
	Members []string `json:"members,omitempty"` // for destinations: each counted once per window
	Limit   float64  `json:"limit"`
	// WindowSeconds is the length of the sliding window.
	WindowSeconds int `json:"window_seconds"`
}

// Reason explains a decision with a stable, machine-readable Code.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Approval says whether a human must approve the call before it runs. The
// policy only asks; the guard enforces it.
type Approval struct {
	Required bool   `json:"required"`
	Reason   string `json:"reason,omitempty"`
}

// CredentialGrant is the scope of the short-lived credential minted for the call.
type CredentialGrant struct {
	Audience   string   `json:"audience"`
	Scopes     []string `json:"scopes"`
	TTLSeconds int      `json:"ttl_seconds"`
	// Reuse is how long the credential may serve: ReuseCall (the default:
	// minted for this call, revoked when it returns) or ReuseTask (shared by
	// the calls of one task with the same audience and scopes, refreshed in
	// the background, revoked when the task ends).
	Reuse string `json:"reuse,omitempty"`
}

// Credential reuse values.
const (
	ReuseCall = "call"
	ReuseTask = "task"
)

// Egress lists the hosts the call may reach.
type Egress struct {
	Hosts []string `json:"hosts"`
	// AllowPrivate lets the call's connections reach loopback, private,
	// link-local, unique-local and shared (CGNAT) addresses when a granted
	// host name resolves to one. Without it the guard's egress transport and
	// dialer refuse them (DNS rebinding). Cloud metadata endpoints stay
	// refused unless granted as an IP literal in Hosts. It covers every
	// host in Hosts: the default policy sets it only when each of them is
	// in the agent's private_hosts.
	AllowPrivate bool `json:"allow_private,omitempty"`
}

// denied is the decision returned with every *Error: no permission at all,
// one reason with the failure code.
func denied(code string) Decision {
	return Decision{
		Allow:   false,
		Reasons: []Reason{{Code: code, Message: failureMessage(code)}},
	}
}

// failureMessage is fixed text per code: the detail of a failure can quote
// input values, and reasons end up in audit records.
func failureMessage(code string) string {
	switch code {
	case CodeUndefined:
		return "policy produced no decision"
	case CodeNotBoolean:
		return "policy decision allow is not a boolean"
	case CodeMultipleResults:
		return "policy produced more than one decision"
	case CodeBindings:
		return "policy query bound variables"
	case CodeEvalError:
		return "policy evaluation failed"
	case CodeCanceled:
		return "policy evaluation canceled"
	case CodeDeadline:
		return "policy evaluation deadline exceeded"
	case CodeBadDecision:
		return "policy decision has the wrong shape"
	case CodeNilInput:
		return "no input"
	case CodeBadInput:
		return "input cannot be encoded"
	case CodeNotReady:
		return "authorization engine not initialised"
	default:
		return "authorization failed"
	}
}

// parseDecision turns the value of the query into a Decision. It is strict
// about types because a policy bug must deny, not be read as a permissive
// zero value. It reads the OPA value directly (evaluate asks rego for the
// term, not for a Go map), which saves a JSON round trip per decision; the
// rules are encoding/json's: unknown keys are ignored, null is the zero value,
// any other type mismatch is an error.
func parseDecision(v any) (Decision, *Error) {
	// evalRawTerm makes rego return the term itself; anything else means
	// the query was evaluated without it.
	t, ok := v.(*ast.Term)
	if !ok {
		return Decision{}, &Error{Code: CodeBadDecision, Err: fmt.Errorf("decision is a %T, want an *ast.Term", v)}
	}
	val := t.Value
	doc, ok := val.(ast.Object)
	if !ok {
		return Decision{}, &Error{Code: CodeBadDecision, Err: fmt.Errorf("decision is %s, want an object", ast.ValueName(val))}
	}
	rawAllow := doc.Get(keyAllow)
	if rawAllow == nil {
		return Decision{}, &Error{Code: CodeUndefined, Err: errors.New("decision has no allow")}
	}
	allow, ok := rawAllow.Value.(ast.Boolean)
	if !ok {
		return Decision{}, &Error{Code: CodeNotBoolean, Err: fmt.Errorf("allow is %s, want a boolean", ast.ValueName(rawAllow.Value))}
	}
	d := Decision{Allow: bool(allow)}
	if err := d.decodeRest(doc); err != nil {
		return Decision{}, &Error{Code: CodeBadDecision, Err: err}
	}
	if err := d.validate(); err != nil {
		return Decision{}, &Error{Code: CodeBadDecision, Err: err}
	}
	if !d.Allow && len(d.Reasons) == 0 {
		d.Reasons = []Reason{{Code: CodeDenied, Message: "policy denied without a reason"}}
	}
	if d.Reasons == nil {
		d.Reasons = []Reason{}
	}
	return d, nil
}

var (
	keyAllow        = ast.StringTerm("allow")
	keyReasons      = ast.StringTerm("reasons")
	keyCode         = ast.StringTerm("code")
	keyMessage      = ast.StringTerm("message")
	keyApproval     = ast.StringTerm("approval")
	keyRequired     = ast.StringTerm("required")
	keyReason       = ast.StringTerm("reason")
	keyCredential   = ast.StringTerm("credential")
	keyAudience     = ast.StringTerm("audience")
	keyScopes       = ast.StringTerm("scopes")
	keyTTLSeconds   = ast.StringTerm("ttl_seconds")
	keyReuse        = ast.StringTerm("reuse")
	keyEgress       = ast.StringTerm("egress")
	keyHosts        = ast.StringTerm("hosts")
	keyAllowPrivate = ast.StringTerm("allow_private")
	keyRedact       = ast.StringTerm("redact")
	keyCache        = ast.StringTerm("cache")
	keyBudgets      = ast.StringTerm("budgets")
	keyScope        = ast.StringTerm("scope")
	keyMetric       = ast.StringTerm("metric")
	keyAmount       = ast.StringTerm("amount")
	keyMembers      = ast.StringTerm("members")
	keyLimit        = ast.StringTerm("limit")
	keyWindow       = ast.StringTerm("window_seconds")
)

func (d *Decision) decodeRest(doc ast.Object) error {
	if t := doc.Get(keyReasons); t != nil && !isNull(t) {
		arr, ok := t.Value.(*ast.Array)
		if !ok {
			return typeErr("reasons", "an array", t)
		}
		d.Reasons = make([]Reason, arr.Len())
		for i := range arr.Len() {
			el := arr.Elem(i)
			if isNull(el) {
				continue
			}
			o, ok := el.Value.(ast.Object)
			if !ok {
				return typeErr(fmt.Sprintf("reasons[%d]", i), "an object", el)
			}
			if err := decodeString(o, keyCode, "reasons[].code", &d.Reasons[i].Code); err != nil {
				return err
			}
			if err := decodeString(o, keyMessage, "reasons[].message", &d.Reasons[i].Message); err != nil {
				return err
			}
		}
	}
	if o, err := decodeObject(doc, keyApproval, "approval"); err != nil {
		return err
	} else if o != nil {
		if err := decodeBool(o, keyRequired, "approval.required", &d.Approval.Required); err != nil {
			return err
		}
		if err := decodeString(o, keyReason, "approval.reason", &d.Approval.Reason); err != nil {
			return err
		}
	}
	if o, err := decodeObject(doc, keyCredential, "credential"); err != nil {
		return err
	} else if o != nil {
		c := &d.Credential
		if err := errors.Join(
			decodeString(o, keyAudience, "credential.audience", &c.Audience),
			decodeStrings(o, keyScopes, "credential.scopes", &c.Scopes),
			decodeInt(o, keyTTLSeconds, "credential.ttl_seconds", &c.TTLSeconds),
			decodeString(o, keyReuse, "credential.reuse", &c.Reuse),
		); err != nil {
			return err
		}
	}
	if o, err := decodeObject(doc, keyEgress, "egress"); err != nil {
		return err
	} else if o != nil {
		if err := decodeStrings(o, keyHosts, "egress.hosts", &d.Egress.Hosts); err != nil {
			return err
		}
		if err := decodeBool(o, keyAllowPrivate, "egress.allow_private", &d.Egress.AllowPrivate); err != nil {
			return err
		}
	}
	if err := decodeStrings(doc, keyRedact, "redact", &d.Redact); err != nil {
		return err
	}
	if err := d.decodeBudgets(doc); err != nil {
		return err
	}
	if o, err := decodeObject(doc, keyCache, "cache"); err != nil {
		return err
	} else if o != nil {
		var ttl int
		if err := decodeInt(o, keyTTLSeconds, "cache.ttl_seconds", &ttl); err != nil {
			return err
		}
		if ttl < 0 {
			return fmt.Errorf("cache.ttl_seconds is negative: %d", ttl)
		}
		// A TTL past what a Duration holds is clamped: the product would
		// wrap, to a negative TTL or an arbitrary short one.
		d.CacheTTL = time.Duration(min(int64(ttl), maxCacheTTLSeconds)) * time.Second
	}
	return nil
}

func (d *Decision) decodeBudgets(doc ast.Object) error {
	t := doc.Get(keyBudgets)
	if t == nil || isNull(t) {
		return nil
	}
	arr, ok := t.Value.(*ast.Array)
	if !ok {
		return typeErr("budgets", "an array", t)
	}
	for i := range arr.Len() {
		el := arr.Elem(i)
		o, ok := el.Value.(ast.Object)
		if !ok {
			return typeErr(fmt.Sprintf("budgets[%d]", i), "an object", el)
		}
		var b BudgetUse
		if err := errors.Join(
			decodeString(o, keyScope, "budgets[].scope", &b.Scope),
			decodeString(o, keyMetric, "budgets[].metric", &b.Metric),
			decodeFloat(o, keyAmount, "budgets[].amount", &b.Amount),
			decodeStrings(o, keyMembers, "budgets[].members", &b.Members),
			decodeFloat(o, keyLimit, "budgets[].limit", &b.Limit),
			decodeInt(o, keyWindow, "budgets[].window_seconds", &b.WindowSeconds),
		); err != nil {
			return err
		}
		d.Budgets = append(d.Budgets, b)
	}
	return nil
}

// decodeFloat accepts any JSON number.
func decodeFloat(o ast.Object, k *ast.Term, field string, dst *float64) error {
	t := o.Get(k)
	if t == nil || isNull(t) {
		return nil
	}
	n, ok := t.Value.(ast.Number)
	if !ok {
		return typeErr(field, "a number", t)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return fmt.Errorf("%s is %s, want a finite number", field, string(n))
	}
	*dst = f
	return nil
}

// maxCacheTTLSeconds is the longest cache TTL a time.Duration holds in
// whole seconds, some 292 years.
const maxCacheTTLSeconds = math.MaxInt64 / int64(time.Second)

func isNull(t *ast.Term) bool {
	_, ok := t.Value.(ast.Null)
	return ok
}

func typeErr(field, want string, t *ast.Term) error {
	return fmt.Errorf("%s is %s, want %s", field, ast.ValueName(t.Value), want)
}

func decodeObject(o ast.Object, k *ast.Term, field string) (ast.Object, error) {
	t := o.Get(k)
	if t == nil || isNull(t) {
		return nil, nil
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, typeErr(field, "an object", t)
	}
	return obj, nil
}

func decodeString(o ast.Object, k *ast.Term, field string, dst *string) error {
	t := o.Get(k)
	if t == nil || isNull(t) {
		return nil
	}
	s, ok := t.Value.(ast.String)
	if !ok {
		return typeErr(field, "a string", t)
	}
	*dst = string(s)
	return nil
}

func decodeBool(o ast.Object, k *ast.Term, field string, dst *bool) error {
	t := o.Get(k)
	if t == nil || isNull(t) {
		return nil
	}
	b, ok := t.Value.(ast.Boolean)
	if !ok {
		return typeErr(field, "a boolean", t)
	}
	*dst = bool(b)
	return nil
}

// decodeInt accepts what encoding/json accepts into an int: an integer
// literal, no fraction or exponent.
func decodeInt(o ast.Object, k *ast.Term, field string, dst *int) error {
	t := o.Get(k)
	if t == nil || isNull(t) {
		return nil
	}
	n, ok := t.Value.(ast.Number)
	if !ok {
		return typeErr(field, "a number", t)
	}
	i, err := strconv.ParseInt(string(n), 10, strconv.IntSize)
	if err != nil {
		return fmt.Errorf("%s is %s, want an integer", field, string(n))
	}
	*dst = int(i)
	return nil
}

func decodeStrings(o ast.Object, k *ast.Term, field string, dst *[]string) error {
	t := o.Get(k)
	if t == nil || isNull(t) {
		return nil
	}
	arr, ok := t.Value.(*ast.Array)
	if !ok {
		return typeErr(field, "an array", t)
	}
	out := make([]string, arr.Len())
	for i := range arr.Len() {
		el := arr.Elem(i)
		if isNull(el) {
			continue
		}
		s, ok := el.Value.(ast.String)
		if !ok {
			return typeErr(fmt.Sprintf("%s[%d]", field, i), "a string", el)
		}
		out[i] = string(s)
	}
	*dst = out
	return nil
}

// validate checks what types alone cannot: every reason has a code (callers
// key on it) and a credential lifetime is never negative.
func (d *Decision) validate() error {
	for i, r := range d.Reasons {
		if r.Code == "" {
			return fmt.Errorf("reasons[%d] has no code", i)
		}
	}
	switch d.Credential.Reuse {
	case "", ReuseCall, ReuseTask:
	default:
		return fmt.Errorf("credential.reuse is %q, want %q or %q", d.Credential.Reuse, ReuseCall, ReuseTask)
	}
	if d.Credential.TTLSeconds < 0 {
		return fmt.Errorf("credential.ttl_seconds is negative: %d", d.Credential.TTLSeconds)
	}
	for i, b := range d.Budgets {
		if err := b.validate(); err != nil {
			return fmt.Errorf("budgets[%d]: %w", i, err)
		}
	}
	return nil
}

func (b BudgetUse) validate() error {
	switch {
	case b.Scope != "agent" && b.Scope != "task":
		return fmt.Errorf("scope is %q, want \"agent\" or \"task\"", b.Scope)
	case b.Metric != "calls" && b.Metric != "destinations" && (len(b.Metric) <= len("sum:") || b.Metric[:len("sum:")] != "sum:"):
		return fmt.Errorf("metric is %q, want calls, sum:<argument> or destinations", b.Metric)
	case b.Amount < 0 || b.Limit < 0:
		return errors.New("amount and limit must not be negative")
	case b.WindowSeconds <= 0:
		return fmt.Errorf("window_seconds is %d, want a positive number", b.WindowSeconds)
	case b.Metric == "destinations" && len(b.Members) == 0:
		return errors.New("a destinations budget needs its members")
	}
	return nil
}
