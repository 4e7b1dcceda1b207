package authz

import (
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/ztagent/ztagent/internal/loop"
)

// DefaultQuery is the document the engine evaluates unless WithQuery says otherwise.
const DefaultQuery = "data.ztagent.decision"

// DefaultTimeout bounds one decision unless WithTimeout says otherwise. A
// policy that needs longer is a policy bug, and the call is denied. It is a
// guard against runaway policies, not a latency target (decisions take well
// under a millisecond): set near the typical cost, a scheduling hiccup on a
// busy host would turn into spurious denials.
const DefaultTimeout = 500 * time.Millisecond

// Option configures New. The interface is sealed: options come from this package.
type Option interface{ apply(*config) }

type module struct {
	filename string
	source   string
}

type config struct {
	modules     []module
	data        map[string]any
	dataJSON    []byte
	dataSet     bool
	query       string
	timeout     time.Duration
	allowUnsafe []string
	regoOpts    []func(*rego.Rego)
	dir         string
	interval    time.Duration
	onReload    func(ReloadEvent)
	shadow      *PolicySet
	schemas     []ArgSchema
	lint        bool
	bundle      *BundleConfig
	logs        *DecisionLogConfig
	cacheSize   int
	now         func() time.Time
	timers      loop.Timers // only tests in the package set it
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithModule adds one Rego module (rego v1 syntax). It can be given several
// times; as soon as one module is given the embedded default policy is not
// loaded, so a user policy never mixes with rules it did not ask for.
func WithModule(filename, source string) Option {
	return optionFunc(func(c *config) {
		c.modules = append(c.modules, module{filename: filename, source: source})
	})
}

// WithData sets the whole `data` document (the base documents the policy
// reads, such as agent grants). The document is copied through JSON at New,
// so later changes to doc do not reach the engine. The last WithData or
// WithDataJSON wins.
func WithData(doc map[string]any) Option {
	return optionFunc(func(c *config) {
		c.data, c.dataJSON, c.dataSet = doc, nil, true
	})
}

// WithDataJSON is WithData from a JSON object; invalid JSON makes New fail.
func WithDataJSON(b []byte) Option {
	cp := append([]byte(nil), b...)
	return optionFunc(func(c *config) {
		c.data, c.dataJSON, c.dataSet = nil, cp, true
	})
}

// WithQuery sets the query whose single value is the decision document.
// Default DefaultQuery.
func WithQuery(q string) Option {
	return optionFunc(func(c *config) { c.query = q })
}

// WithTimeout bounds each decision. Default DefaultTimeout; must be > 0.
// The caller's own deadline applies as well, whichever is earlier.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithUnsafeBuiltins lets policies call builtins that are refused by default
// (see the package documentation for the list), by name. Naming a builtin
// that is not refused is an error from New, so a typo cannot go unnoticed.
func WithUnsafeBuiltins(names ...string) Option {
	cp := append([]string(nil), names...)
	return optionFunc(func(c *config) { c.allowUnsafe = append(c.allowUnsafe, cp...) })
}

// WithRegoOptions passes options straight to rego.New, for example custom
// builtins (rego.Function1...). It is an escape hatch: the engine applies its
// own query, store, rego version, strict builtin errors and refused builtins
// after these, so they cannot be overridden here. Two caveats: modules added
// with rego.Module here are not part of the Revision (use WithModule), and a
// compiler supplied with rego.Compiler bypasses the refused-builtins check on
// modules. Custom builtins must honour BuiltinContext.Context: evaluation
// runs on the caller's goroutine, so a builtin that ignores cancellation can
// hold a decision past its deadline (it still denies when it returns).
func WithRegoOptions(opts ...func(*rego.Rego)) Option {
	cp := slices.Clone(opts)
	return optionFunc(func(c *config) { c.regoOpts = append(c.regoOpts, cp...) })
}

// WithPolicyDir loads the policy from a directory (see ReadPolicyDir) instead
// of WithModule/WithData, and watches it: a change is compiled off the hot
// path and swapped in atomically; a change that does not compile, or a
// directory that vanishes, is reported (WithReloadHook, Engine.Stats,
// Engine.LastReloadError) and the last good policy keeps serving. New fails
// if the directory does not hold a policy that compiles. Stop watching with
// Engine.Close.
func WithPolicyDir(dir string) Option {
	return optionFunc(func(c *config) { c.dir = dir })
}

// WithReloadInterval sets how often the policy directory is checked for
// changes. Default 2s; must be > 0.
func WithReloadInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.interval = d })
}

// WithReloadHook is called after every attempt to replace the policy, from
// the goroutine that made it. It must not block.
func WithReloadHook(f func(ReloadEvent)) Option {
	return optionFunc(func(c *config) { c.onReload = f })
}

// WithClock sets the engine's clock (default time.Now; nil is an error). It
// stamps ReloadEvent.Time and EffectiveAt and decision-log timestamps, and
// tells when a cached decision's TTL has passed (WithDecisionCache). A
// decision itself judges time by Input.Time, which the caller sets: give
// the engine the clock the caller uses (toolguard gives its own default
// engine the guard's). Background polls of a policy directory or bundle
// wake on real time; what they report is stamped with this clock.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// WithShadow evaluates a candidate policy beside the enforced one; see
// Engine.LoadShadow. New fails if it does not compile.
func WithShadow(ps PolicySet) Option {
	return optionFunc(func(c *config) { c.shadow = &ps })
}

// WithArgSchemas turns on policy lint: every policy the engine loads is first
// checked against the input document and the arguments the tools send (see
// Lint), and one that reads a field nobody sends is rejected. Such a read is
// undefined at run time, which silently disables the rule that makes it —
// a deny rule among them.
func WithArgSchemas(tools ...ArgSchema) Option {
	cp := append([]ArgSchema(nil), tools...)
	return optionFunc(func(c *config) { c.schemas, c.lint = append(c.schemas, cp...), true })
}
