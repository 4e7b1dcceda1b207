package toolguard

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"go.opentelemetry.io/otel"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/internal/loop"
	"github.com/ztagent/ztagent/toolguard/budget"
)

// Guard composes identity, policy, credentials and audit. It is safe for
// concurrent use. A nil *Guard denies every call.
type Guard struct {
	identity        identity.Source
	decider         authz.Decider
	issuer          creds.Issuer
	calls           *audit.CallRecorder // writes each call's span and record
	approver        Approver
	approvalTimeout time.Duration
	maxCredTTL      time.Duration
	budgets         budget.Store
	now             func() time.Time
	timers          loop.Timers // what the background loops wait on; nil: real time
	revoker         *revoker
	shared          sync.Map                 // *sharedCred → struct{}: task credentials to refresh
	who             atomic.Pointer[svidInfo] // the last SVID seen, as recorded
	digests         *argsDigester            // names arguments (WithArgsDigestKey)
	suspend         suspender                // Suspend, Resume
	sweepWake       chan struct{}            // nil: the decider reports no suspensions

	cancel    context.CancelFunc
	bg        sync.WaitGroup
	closeOnce sync.Once
	closed    atomic.Bool
	owned     []func() error // components the guard built and must close

	stats counters
}

// New builds a Guard. Each part not given by an option is the embedded
// default:
//
//   - identity: an in-process dev CA (identity.NewDevSource) for
//     spiffe://ztagent.dev/agent/default, short-lived rotating SVIDs;
//   - policy: the embedded default Rego library (authz.New) with the data of
//     WithPolicyData, or none, which grants nothing;
//   - credentials: an in-process minter (creds.NewMinter), EdDSA JWTs of at
//     most 5 minutes;
//   - traces: OpenTelemetry's global TracerProvider;
//   - decision records: JSON lines on standard error.
//
// A bad option or a policy that does not compile is an error; nothing is
// left running.
func New(ctx context.Context, opts ...Option) (*Guard, error) {
	c := config{
		approvalTimeout: 2 * time.Minute,
		revokeTimeout:   5 * time.Second,
		maxCredTTL:      5 * time.Minute,
		now:             time.Now,
	}
	for _, o := range opts {
		if o == nil {
			c.err = errors.Join(c.err, errors.New("toolguard: nil Option"))
			continue
		}
		o.apply(&c)
	}
	if c.err != nil {
		return nil, c.err
	}
	g := &Guard{
		identity:        c.identity,
		decider:         c.decider,
		issuer:          c.issuer,
		approver:        c.approver,
		approvalTimeout: c.approvalTimeout,
		maxCredTTL:      c.maxCredTTL,
		budgets:         c.budgets,
		now:             c.now,
		timers:          c.timers,
		digests:         newArgsDigester(c.argsKey),
	}
	if err := g.fillDefaults(ctx, &c); err != nil {
		_ = g.closeOwned()
		return nil, err
	}
	g.revoker = newRevoker(g.issuer, c.revokeTimeout, &g.stats, g.now)
	bg, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.bg.Add(2)
	go g.revoker.run(bg, &g.bg, g.timers)
	go g.refreshShared(bg, &g.bg)
	if ps, ok := g.decider.(policySuspensions); ok {
		g.sweepWake = make(chan struct{}, 1)
		g.bg.Add(1)
		go g.watchSuspensions(bg, &g.bg, ps)
	}
	return g, nil
}

func (g *Guard) fillDefaults(ctx context.Context, c *config) error {
	if g.identity == nil {
		src, err := identity.NewDevSource(ctx, identity.WithClock(c.now))
		if err != nil {
			return errors.Join(errors.New("toolguard: default identity"), err)
		}
		g.identity = src
		g.owned = append(g.owned, src.Close)
	}
	if g.decider == nil {
		// The cache only reuses decisions the policy marks cacheable; see authz.
		// On the guard's clock, like the input.time of every decision.
		opts := []authz.Option{authz.WithDecisionCache(4096), authz.WithClock(c.now)}
		if c.policyData != nil {
			opts = append(opts, authz.WithDataJSON(c.policyData))
		}
		eng, err := authz.New(ctx, opts...)
		if err != nil {
			return errors.Join(errors.New("toolguard: default policy"), err)
		}
		g.decider = eng
		g.owned = append(g.owned, eng.Close)
	}
	if g.budgets == nil {
		g.budgets = budget.NewMemory(budget.WithClock(c.now))
	}
	if g.issuer == nil {
		m, err := creds.NewMinter(creds.WithClock(c.now))
		if err != nil {
			return errors.Join(errors.New("toolguard: default minter"), err)
		}
		g.issuer = m
	}
	tp := c.tracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	sink := c.sink
	if sink == nil {
		sink = audit.NewJSONLines(os.Stderr)
	}
	calls, err := audit.NewCallRecorder(audit.NewTracer(tp), sink, append(c.records, audit.WithClock(c.now))...)
	if err != nil {
		return fmt.Errorf("toolguard: %w", err)
	}
	g.calls = calls
	return nil
}

// Close stops what the guard started itself (the dev identity source, the
// background refresh and revocation retries). Revocations still pending get
// one last attempt; those that fail are counted as lost. Later calls are
// denied with CodeGuardClosed. Close is idempotent.
func (g *Guard) Close(ctx context.Context) error {
	if g == nil {
		return nil
	}
	var err error
	g.closeOnce.Do(func() {
		g.closed.Store(true)
		if g.cancel != nil { // nil in a Guard not made by New
			g.cancel()
			g.bg.Wait()
			// Tasks not ended hold live credentials no call can use any more.
			g.shared.Range(func(k, _ any) bool {
				err = errors.Join(err, k.(*sharedCred).revokeAll(ctx))
				return true
			})
			g.revoker.retryDue(ctx, g.now(), true)
		}
		err = errors.Join(err, g.closeOwned())
	})
	return err
}

func (g *Guard) closeOwned() error {
	var err error
	for _, c := range g.owned {
		err = errors.Join(err, c())
	}
	return err
}

// Stats reports the guard's lossy paths. Nothing is dropped silently: each
// failure to revoke a credential or to write a decision record is counted.
//
// Every revocation whose first attempt failed ends one way, so
// RevokeFailures = RevokeRecovered + RevokeLost + RevokeExpired +
// RevokePending at any quiet moment.
type Stats struct {
	Calls           uint64 // guarded calls attempted
	Denied          uint64
	RevokeFailures  uint64 // revocations whose first attempt failed (then retried)
	RevokeRetries   uint64 // retry attempts
	RevokeRecovered uint64 // revocations whose first attempt failed and a retry succeeded
	RevokeLost      uint64 // revocations that never succeeded before giving up
	RevokeExpired   uint64 // pending revocations overtaken by the credential's expiry
	RevokePending   uint64 // revocations waiting for a retry now
	Refreshes       uint64 // task credentials renewed in the background
	RefreshFailures uint64 // background renewals that failed (the old one serves until expiry)
	SinkFailures    uint64
	// BudgetReleaseFailures counts reservations of calls that did not run
	// that the budget store failed to give back: the budget holds them
	// until their window passes.
	BudgetReleaseFailures uint64
	// UnlinkedCalls counts calls a turn proposed on a tracer that records
	// nothing while the guard's records: their spans cannot link to the
	// turn. Start turns with Guard.StartTurn so both share one tracer.
	UnlinkedCalls uint64
	// SuspendRevokes counts task credentials withdrawn because their agent
	// or task was suspended: by Suspend, or by the policy (data.suspended),
	// which the guard checks after every reload of an *authz.Engine.
	SuspendRevokes uint64
}

type counters struct {
	calls, denied                                            atomic.Uint64
	revokeFailures, revokeRetries, revokeLost, revokeExpired atomic.Uint64
	revokeRecovered                                          atomic.Uint64
	refreshes, refreshFailures                               atomic.Uint64
	budgetReleaseFailures                                    atomic.Uint64
	suspendRevokes                                           atomic.Uint64
}

// Stats returns a snapshot of the guard's counters.
func (g *Guard) Stats() Stats {
	if g == nil {
		return Stats{}
	}
	return Stats{
		Calls:                 g.stats.calls.Load(),
		Denied:                g.stats.denied.Load(),
		RevokeFailures:        g.stats.revokeFailures.Load(),
		RevokeRetries:         g.stats.revokeRetries.Load(),
		RevokeRecovered:       g.stats.revokeRecovered.Load(),
		RevokeLost:            g.stats.revokeLost.Load(),
		RevokeExpired:         g.stats.revokeExpired.Load(),
		RevokePending:         uint64(g.revoker.pendingCount()),
		Refreshes:             g.stats.refreshes.Load(),
		RefreshFailures:       g.stats.refreshFailures.Load(),
		SinkFailures:          g.calls.SinkFailures(),
		BudgetReleaseFailures: g.stats.budgetReleaseFailures.Load(),
		UnlinkedCalls:         g.calls.Unlinked(),
		SuspendRevokes:        g.stats.suspendRevokes.Load(),
	}
}

// svidInfo is an SVID's identity as spans, records and policy input show it,
// converted once per SVID rather than once per call.
type svidInfo struct {
	leaf        *x509.Certificate
	id          spiffeid.ID
	subject     string // SPIFFE ID
	trustDomain string
	serial      string         // hex
	recorded    audit.Identity // as spans and records show it
	budgetScope string         // "agent:<spiffe id>", made once per SVID
	// chain is the principal chain of a call made for no one but the agent:
	// [subject]. Shared by calls, so only read (see call.buildInput).
	chain []string
}

// identityOf returns svid's identity, converted once per SVID: everything
// in it derives from the SPIFFE ID and the leaf certificate, so the same ID
// and leaf (the same *x509.Certificate: sources hand out copies of the SVID
// that share it) as the last one seen give the same identity. svid must have
// a certificate. Validity is not part of it: identify checks the leaf on
// every call.
func (g *Guard) identityOf(svid *x509svid.SVID) *svidInfo {
	leaf := svid.Certificates[0]
	if w := g.who.Load(); w != nil && w.leaf == leaf && w.id == svid.ID {
		return w
	}
	w := &svidInfo{
		leaf: leaf, id: svid.ID,
		subject: svid.ID.String(), trustDomain: svid.ID.TrustDomain().Name(),
		serial: leaf.SerialNumber.Text(16),
	}
	w.recorded = audit.Identity{SPIFFEID: w.subject, Serial: w.serial, NotAfter: leaf.NotAfter}
	w.budgetScope = budgetScope("agent", w.subject, "")
	w.chain = []string{w.subject}
	g.who.Store(w)
	return w
}
