package authz

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// compiled is one prepared revision of the policy. It is never mutated after
// it is built, so a decision that loaded it is attributed to exactly it.
type compiled struct {
	prepared rego.PreparedEvalQuery
	id       string // the query
	revision string
	source   string
	cache    *decisionCache // nil: decisions are not reused
	memo     *ruleMemo      // nil: every rule is evaluated every time
	// suspended is data.suspended, for Engine.Suspended.
	suspended Suspended
}

// settings are what every compile of an engine shares.
type settings struct {
	query    string
	unsafe   map[string]struct{}
	regoOpts []func(*rego.Rego)
	schemas  []ArgSchema // nil: no lint
	// cacheSize > 0 gives each revision compiled as the policy in force its
	// own decision cache. New leaves it 0 when decision logs are on: they
	// see every decision, so no cache would ever be used.
	cacheSize int
	now       func() time.Time // the engine's clock, for the caches' TTLs
}

// compile turns a policy set into a prepared query. It runs off the hot
// path: at New, on a directory change, on a bundle download. withCache
// asks for a decision cache; only the policy in force is ever served from
// one (Engine.cacheOf), so a shadow is compiled without.
func (s *settings) compile(ctx context.Context, ps PolicySet, withCache bool) (*compiled, error) {
	n, err := ps.normalize()
	if err != nil {
		return nil, err
	}
	if s.schemas != nil {
		src := make(map[string]string, len(n.modules))
		for _, m := range n.modules {
			src[m.filename] = m.source
		}
		findings, err := Lint(src, s.schemas)
		if err != nil {
			return nil, err
		}
		if len(findings) > 0 {
			return nil, &LintError{Findings: findings}
		}
	}
	ropts := slices.Clone(s.regoOpts)
	ropts = append(ropts,
		rego.Query(s.query),
		rego.Store(inmem.NewFromObject(n.data)),
		rego.SetRegoVersion(ast.RegoV1),
		rego.StrictBuiltinErrors(true),
		rego.UnsafeBuiltins(s.unsafe),
	)
	for _, m := range n.modules {
		ropts = append(ropts, rego.Module(m.filename, m.source))
	}
	prepared, err := rego.New(ropts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile policy: %w", err)
	}
	c := &compiled{
		prepared:  prepared,
		id:        s.query,
		revision:  revision(n.modules, n.canonical, s.query),
		source:    n.source,
		memo:      newRuleMemo(prepared.Modules()),
		suspended: suspendedIn(n.data),
	}
	if withCache && s.cacheSize > 0 {
		c.cache = newDecisionCache(s.cacheSize, scanReads(prepared.Modules()), s.now)
	}
	return c, nil
}

// LintError rejects a policy that reads input fields no caller sends.
type LintError struct{ Findings []LintFinding }

func (e *LintError) Error() string {
	msg := fmt.Sprintf("policy reads %d input field(s) that no tool sends", len(e.Findings))
	for i, f := range e.Findings {
		if i == 5 {
			msg += fmt.Sprintf("; and %d more", len(e.Findings)-5)
			break
		}
		msg += "; " + f.String()
	}
	return msg
}
