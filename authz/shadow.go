package authz

import (
	"context"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Flip names a disagreement between the shadow policy and the policy in force.
const (
	FlipAllowToDeny = "allow_to_deny" // the candidate would deny what is allowed today
	FlipDenyToAllow = "deny_to_allow" // the candidate would allow what is denied today
)

// ShadowResult is what a candidate policy would have decided. The enforced
// decision stands whatever it says.
type ShadowResult struct {
	Revision string
	Allow    bool
	Code     string // its first reason code, or its failure code
	Flip     string // "", FlipAllowToDeny or FlipDenyToAllow
}

// evalShadow evaluates the candidate on the same input value. A failing
// candidate counts as a deny, exactly as it would if it were enforced.
func (e *Engine) evalShadow(ctx context.Context, sh *compiled, value ast.Value, k memoKey, enforced bool) *ShadowResult {
	r := &ShadowResult{Revision: sh.revision}
	d, err := evaluate(ctx, sh, value, k)
	switch {
	case err != nil:
		e.stats.shadowErrors.Add(1)
		r.Code = err.Code
	default:
		r.Allow = d.Allow
		if len(d.Reasons) > 0 {
			r.Code = d.Reasons[0].Code
		}
	}
	switch {
	case enforced && !r.Allow:
		r.Flip = FlipAllowToDeny
		e.stats.allowToDeny.Add(1)
	case !enforced && r.Allow:
		r.Flip = FlipDenyToAllow
		e.stats.denyToAllow.Add(1)
	}
	return r
}
