package toolguard

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/toolguard/budget"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// call is one guarded tool call on its way through the steps of the path.
// Its action path (span and record) is written by audit, one step at a time
// (rec); the call only decides.
type call struct {
	g         *Guard
	tool      *Tool
	id        string
	args      frozen
	rec       *audit.Call
	who       *svidInfo // the SVID's identity; nil when there is none
	svidErr   error     // from the identity source, reported by identify
	spanHasID bool      // the span started with the identity
	input     authz.Input
	dec       authz.Decision
	cred      *creds.Credential
	shared    bool // cred belongs to the task, not to this call
	denied    *DeniedError
	reasons   [2]audit.Reason // room for the verdict's usual reasons
	files     []egress.File   // the path destinations with their roots, shared
	// reservation is what the call took of its budgets, until it runs.
	reservation *budget.Reservation
	// running is the context the tool runs under; a field, so that it
	// costs no allocation of its own (see runningCtx).
	running runningCtx
}

// do runs the path of one tool call. argsErr is a failure to freeze the
// arguments, reported as a denial inside the span so it is audited like any
// other. run is called at most once, only when every step before it passed.
func (g *Guard) do(ctx context.Context, t *Tool, args frozen, argsErr error, run func(context.Context) error) error {
	if g == nil {
		return deny(t, callID(ctx), CodeNilGuard, "the guard is nil", nil)
	}
	g.stats.calls.Add(1)
	c := &call{g: g, tool: t, args: args}
	// The identity is fetched before the call is recorded so that it is
	// part of the span's start attributes; identify checks it, in its turn,
	// below. A span names only an identity that is valid when the call starts.
	var id *audit.Identity
	if !g.closed.Load() {
		var svid *x509svid.SVID
		svid, c.svidErr = g.identity.GetX509SVID()
		if c.svidErr == nil && svid != nil && len(svid.Certificates) > 0 {
			c.who = g.identityOf(svid)
			if now, leaf := g.now(), c.who.leaf; now.Before(leaf.NotAfter) && !now.Before(leaf.NotBefore) {
				id, c.spanHasID = &c.who.recorded, true
			}
		}
	}
	ctx, c.rec = g.calls.Start(ctx, audit.CallStart{
		Tool: t.Name, CallID: callID(ctx), Effect: string(t.Effect), Risk: string(t.Risk),
		Args: args.raw, ArgsDigest: args.digest, Redact: t.redactPaths, Identity: id,
		Peer: peerOf(ctx).recorded(),
	})
	c.id = c.rec.ID()

	if c.denied = c.authorize(ctx, argsErr); c.denied != nil {
		c.release(ctx) // a call that does not run uses nothing of its budgets
		g.stats.denied.Add(1)
		c.finish(ctx, audit.Outcome{Status: audit.StatusDenied, Code: c.denied.Code, Reason: c.denied.Reason})
		return c.denied
	}
	return c.execute(ctx, run)
}

// authorize runs steps 2 to 6: every failure is a denial.
func (c *call) authorize(ctx context.Context, argsErr error) *DeniedError {
	g, t := c.g, c.tool
	if g.closed.Load() {
		return deny(t, c.id, CodeGuardClosed, "the guard is closed", nil)
	}
	if err := ctx.Err(); err != nil {
		return deny(t, c.id, CodeCanceled, "the call was canceled before it was authorized", err)
	}
	// Identity first, so that every record past this point names the agent.
	if d := c.identify(); d != nil {
		return d
	}
	if t := task(ctx); t != nil && t.hasEnded() {
		return deny(c.tool, c.id, CodeTaskEnded, "the task has ended", errTaskEnded)
	}
	if d := c.suspended(ctx); d != nil {
		return d
	}
	if p := peerOf(ctx); p != nil {
		if err := p.check(); err != nil {
			return deny(t, c.id, CodeBadPeer, err.Error(), err)
		}
	}
	if argsErr != nil {
		return deny(t, c.id, CodeBadArgs, argsErr.Error(), argsErr)
	}
	d, err := c.args.destinations(t.Destinations)
	if err != nil {
		return deny(t, c.id, CodeBadDestination, err.Error(), err)
	}
	c.rec.Destinations(d.described)
	c.files = d.files
	usage, err := c.usage(ctx, task(ctx))
	if err != nil {
		return deny(t, c.id, CodeBudgetUnavailable, "the agent's budgets could not be read", err)
	}
	c.buildInput(ctx, d, usage)
	if d := c.decide(ctx); d != nil {
		return d
	}
	if d := c.reserve(ctx); d != nil {
		return d
	}
	if d := c.approve(ctx); d != nil {
		return d
	}
	if d := c.issue(ctx); d != nil {
		return d
	}
	// Last, so that an "authorized" record means the tool ran (strict mode).
	if err := c.rec.Authorized(ctx); err != nil {
		c.revoke(ctx) // the tool will not run on it
		return deny(c.tool, c.id, CodeAuditUnavailable, "the decision record could not be written", err)
	}
	return nil
}

func (c *call) identify() *DeniedError {
	err := c.svidErr
	switch {
	case errors.Is(err, identity.ErrExpired):
		return deny(c.tool, c.id, CodeIdentityExpired, "the agent's SVID has expired", err)
	case err != nil:
		return deny(c.tool, c.id, CodeIdentityUnavailable, "the agent has no identity", err)
	case c.who == nil:
		return deny(c.tool, c.id, CodeIdentityUnavailable, "the identity source returned no SVID", nil)
	}
	// Checked here too: a source other than ours may hand out a stale SVID.
	leaf := c.who.leaf
	if now := c.g.now(); !now.Before(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return deny(c.tool, c.id, CodeIdentityExpired, "the agent's SVID is outside its validity period", nil)
	}
	if !c.spanHasID { // not valid yet when the call started, valid now
		c.rec.Identity(c.who.recorded)
	}
	return nil
}

// buildInput builds the policy input. Its slices are shared (the SVID's
// chain, the remembered destinations, the task's scopes) and only read: a
// cache lookup reads them, and the decider gets its own copy (detached)
// before it evaluates, since a decider may keep or change its input.
func (c *call) buildInput(ctx context.Context, d derivation, usage *authz.Usage) {
	dests := d.dests
	subject := c.who.subject
	p := principal(ctx)
	chain := c.who.chain
	if len(p.Chain) > 0 {
		chain = append(append(make([]string, 0, len(p.Chain)+1), p.Chain...), subject)
	}
	in := authz.Input{
		Subject:   authz.Subject{SPIFFEID: subject, TrustDomain: c.who.trustDomain},
		Principal: authz.Principal{User: p.User, Chain: chain},
		Task:      authz.Task{Scopes: []string{}},
		Tool:      authz.Tool{Name: c.tool.Name, Effect: string(c.tool.Effect), Risk: string(c.tool.Risk)},
		Call:      authz.Call{ID: c.id, Args: c.args.raw, ArgsDigest: c.args.digest, Destinations: dests},
		Context:   authz.Context{ConversationID: audit.ConversationID(ctx), Taint: []string{}},
		Usage:     usage,
		Peer:      peerOf(ctx).input(),
		Time:      c.g.now().UTC(),
	}
	if t := task(ctx); t != nil {
		in.Task.ID, in.Task.Purpose = t.ID, t.Purpose
		if t.Scopes != nil {
			in.Task.Scopes = t.Scopes
		}
		if !t.ExpiresAt.IsZero() {
			exp := t.ExpiresAt.UTC()
			in.Task.ExpiresAt = &exp
		}
		in.Task.CallsUsed = int(t.calls.Add(1)) - 1
	}
	if s := taintSet(ctx); s != nil {
		in.Context.Taint = s.Labels()
	}
	if pv := provenanceOf(ctx); pv != nil {
		in.Provenance = pv.origins(c.args.decoded, dests, d.fixed)
		in.Context.TracksProvenance, in.Context.ProvenanceOverflow = true, pv.Overflowed()
		c.rec.Untrusted(untrustedOnly(in.Provenance))
	}
	c.input = in
}

// detached is in with slices and pointers of its own: what a decider gets,
// since it may keep or change its input, and the guard's later steps
// (credential, approval, grants) read c.input.
func detached(in authz.Input) authz.Input {
	in.Principal.Chain = slices.Clone(in.Principal.Chain)
	in.Task.Scopes = append([]string{}, in.Task.Scopes...)
	in.Call.Args = slices.Clone(in.Call.Args)
	in.Call.Destinations = append([]authz.Destination{}, in.Call.Destinations...)
	in.Context.Taint = slices.Clone(in.Context.Taint)
	if in.Task.ExpiresAt != nil {
		exp := *in.Task.ExpiresAt
		in.Task.ExpiresAt = &exp
	}
	if in.Provenance != nil {
		p := make(map[string]authz.Origin, len(in.Provenance))
		for k, o := range in.Provenance {
			o.Sources = slices.Clone(o.Sources)
			p[k] = o
		}
		in.Provenance = p
	}
	if in.Usage != nil {
		u := detachedUsage(*in.Usage)
		in.Usage = &u
	}
	return in
}

// cacheLookup is the part of a decider that can tell a cached decision
// apart before evaluating (authz.Engine.CachedDecision). It only reads in,
// during the call: in shares memory with other calls (see buildInput).
type cacheLookup interface {
	CachedDecision(ctx context.Context, in *authz.Input) (authz.Decision, bool)
}

func (c *call) decide(ctx context.Context) *DeniedError {
	var (
		dec authz.Decision
		err error
		hit bool
	)
	if cl, ok := c.g.decider.(cacheLookup); ok {
		dec, hit = cl.CachedDecision(ctx, &c.input)
	}
	if !hit {
		// The policy runs: its evaluation is the run_guardrail span.
		gctx := c.rec.StartDecision(ctx)
		in := detached(c.input)
		dec, err = c.g.decider.Decide(gctx, &in)
	}
	c.dec = dec
	v := audit.Verdict{
		Allow: err == nil && dec.Allow, PolicyID: dec.PolicyID, PolicyRevision: dec.Revision,
		ApprovalRequired: dec.Approval.Required, Redact: dec.Redact,
	}
	if len(dec.Reasons) > 0 {
		v.Reasons = c.reasons[:0]
	}
	for _, r := range dec.Reasons {
		v.Reasons = append(v.Reasons, audit.Reason{Code: r.Code, Message: r.Message})
	}
	if sh := dec.Shadow; sh != nil {
		v.Shadow = &audit.Shadow{Revision: sh.Revision, Allow: sh.Allow, Code: sh.Code, Flip: sh.Flip}
	}
	var d *DeniedError
	switch {
	case err != nil:
		code := authz.CodeEvalError
		var ae *authz.Error
		if errors.As(err, &ae) {
			code = ae.Code
		}
		// Only the code leaves the guard: an evaluation error can quote input
		// values (strict builtin errors do), and arguments may hold secrets.
		// The full error stays reachable through DeniedError.Unwrap.
		d = deny(c.tool, c.id, code, "the policy could not decide ("+code+")", err)
		v.Err = errors.New(code)
	case !dec.Allow:
		code, msg := CodePolicyDenied, "the policy denied the call"
		if len(dec.Reasons) > 0 {
			code, msg = dec.Reasons[0].Code, dec.Reasons[0].Message
		}
		d = deny(c.tool, c.id, code, msg, nil)
	}
	if d != nil {
		d.Reasons = dec.Reasons
		v.Code = d.Code
		c.policySuspended(ctx, d.Code)
	}
	c.rec.Decided(v, dec.Cached)
	return d
}

func (c *call) approve(ctx context.Context) *DeniedError {
	if !c.dec.Approval.Required {
		return nil
	}
	reason := c.dec.Approval.Reason
	if reason == "" && len(c.dec.Reasons) > 0 {
		reason = c.dec.Reasons[0].Code
	}
	c.rec.ApprovalRequested(reason)
	d := c.askApprover(ctx)
	if d != nil {
		d.Reasons = c.dec.Reasons
	}
	return d
}

func (c *call) askApprover(ctx context.Context) *DeniedError {
	if c.g.approver == nil {
		c.rec.ApprovalResolved(audit.ApprovalUnavailable, "", "no approver configured")
		return deny(c.tool, c.id, CodeNoApprover, "the call needs approval and no approver is configured", nil)
	}
	actx, cancel := context.WithTimeout(ctx, c.g.approvalTimeout)
	defer cancel()
	a, err := c.g.approver.Approve(actx, ApprovalRequest{
		Tool: *c.tool, CallID: c.id, Subject: c.input.Subject.SPIFFEID,
		Principal:  Principal{User: c.input.Principal.User, Chain: slices.Clone(c.input.Principal.Chain)},
		Args:       append([]byte(nil), c.args.raw...),
		ArgsDigest: c.args.digest, Reasons: c.dec.Reasons,
	})
	if err == nil {
		err = actx.Err() // an answer that arrives after the deadline does not count
	}
	if err != nil {
		c.rec.ApprovalResolved(audit.ApprovalUnavailable, "", "approver failed")
		return deny(c.tool, c.id, CodeApprovalFailed, "approval could not be obtained: "+err.Error(), err)
	}
	if !a.Approved {
		c.rec.ApprovalResolved(audit.ApprovalRefused, a.By, a.Reason)
		msg := "the approver refused the call"
		if a.Reason != "" {
			msg += ": " + a.Reason
		}
		return deny(c.tool, c.id, CodeApprovalRefused, msg, nil)
	}
	c.rec.ApprovalResolved(audit.ApprovalApproved, a.By, a.Reason)
	return nil
}

func (c *call) issue(ctx context.Context) *DeniedError {
	grant := c.dec.Credential
	ttl := min(time.Duration(grant.TTLSeconds)*time.Second, c.g.maxCredTTL)
	req := creds.Request{
		Subject: c.input.Subject.SPIFFEID, Audience: grant.Audience, Scopes: grant.Scopes, TTL: ttl, CallID: c.id,
		// Delegation is who the agent acts for, not the agent itself.
		// Capacity capped: the chain may be shared (buildInput), and an
		// append to the delegation must not write into it.
		Delegation: c.input.Principal.Chain[: len(c.input.Principal.Chain)-1 : len(c.input.Principal.Chain)-1],
	}
	var cred *creds.Credential
	var err error
	minted := true
	if t := task(ctx); t != nil && grant.Reuse == authz.ReuseTask {
		req.CallID = "" // shared by the task's calls
		cred, minted, err = c.g.sharedCredential(ctx, t, req)
		c.shared = true
		if errors.Is(err, errTaskEnded) {
			return deny(c.tool, c.id, CodeTaskEnded, "the task has ended", err)
		}
	} else {
		cred, err = c.g.issueChecked(ctx, req)
	}
	if err != nil {
		return deny(c.tool, c.id, CodeCredentialUnavailable, err.Error(), err)
	}
	c.cred = cred
	c.rec.CredentialIssued(audit.Credential{ID: cred.ID, Audience: cred.Audience, TTL: cred.TTL(), Reused: !minted})
	return nil
}

// execute runs the tool (step 7) and then revokes and records (8, 9) whether
// the tool returns, fails or panics; a panic continues after the cleanup.
func (c *call) execute(ctx context.Context, run func(context.Context) error) (err error) {
	returned := false
	c.running = runningCtx{Context: creds.NewContext(ctx, c.cred), id: &c.id}
	tctx, grant := egress.WithGrant(&c.running, c.dec.Egress.Hosts, c.dec.Egress.AllowPrivate, c.files)
	defer func() {
		grant.End() // first: nothing reaches out on a revoked credential
		c.revoke(ctx)
		if s := taintSet(ctx); s != nil {
			s.Add(c.tool.taint...)
		}
		switch {
		case !returned:
			c.finish(ctx, audit.Outcome{Status: audit.StatusPanic, Err: errors.New("tool panicked")})
		case err != nil:
			c.finish(ctx, audit.Outcome{Status: audit.StatusError, Err: err})
		default:
			c.finish(ctx, audit.Outcome{Status: audit.StatusOK})
		}
	}()
	err = run(tctx)
	returned = true
	return err
}

func (c *call) revoke(ctx context.Context) {
	if c.shared {
		return // the task's credential: revoked by Task.End
	}
	err := c.g.revoker.revoke(ctx, c.cred)
	c.rec.CredentialRevoked(c.cred.ID, err)
}

// finish ends the call's span and writes its record; a record the sink
// refuses is counted by the recorder (Stats().SinkFailures).
func (c *call) finish(ctx context.Context, o audit.Outcome) {
	_ = c.rec.End(ctx, o)
}

func describe(d authz.Destination) string {
	switch d.Kind {
	case "url":
		return d.Scheme + "://" + d.Host + ":" + strconv.Itoa(d.Port)
	case "email":
		return "email:" + d.Host
	case "recipient":
		return maskedRecipient(d)
	case "argv":
		if d.Flagged {
			return "argv:flagged" // never the value: arguments may hold secrets
		}
		return "argv"
	default:
		return "path:" + d.Path
	}
}
