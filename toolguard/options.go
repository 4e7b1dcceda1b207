package toolguard

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/internal/loop"
	"github.com/ztagent/ztagent/toolguard/budget"
)

// Option configures a Guard. Options not given fall back to the embedded
// defaults described on New.
type Option interface{ apply(*config) }

// optionFunc records an option's validation error in the config, so that New
// reports every bad option at once.
type optionFunc func(*config) error

func (f optionFunc) apply(c *config) { c.err = errors.Join(c.err, f(c)) }

type config struct {
	identity        identity.Source
	decider         authz.Decider
	policyData      []byte
	issuer          creds.Issuer
	tracerProvider  trace.TracerProvider
	sink            audit.Sink
	approver        Approver
	approvalTimeout time.Duration
	revokeTimeout   time.Duration
	maxCredTTL      time.Duration
	budgets         budget.Store
	records         []audit.CallOption // what and how the guard records (records.go)
	now             func() time.Time
	timers          loop.Timers // only tests in the package set it
	argsKey         []byte
	err             error
}

// WithIdentity sets where the agent's SVID comes from, e.g. a SPIRE agent.
// The guard does not close it.
func WithIdentity(s identity.Source) Option {
	return optionFunc(func(c *config) error {
		if s == nil {
			return errors.New("toolguard: WithIdentity(nil)")
		}
		c.identity = s
		return nil
	})
}

// WithDecider sets the policy decision point.
func WithDecider(d authz.Decider) Option {
	return optionFunc(func(c *config) error {
		if d == nil {
			return errors.New("toolguard: WithDecider(nil)")
		}
		c.decider = d
		return nil
	})
}

// WithPolicyData gives the embedded default policy its data document (which
// tools each agent is granted, which hosts it may reach), as JSON. Without it
// the default policy grants nothing. It is ignored when WithDecider is given.
func WithPolicyData(doc []byte) Option {
	return optionFunc(func(c *config) error {
		c.policyData = append([]byte(nil), doc...)
		return nil
	})
}

// WithCredentialIssuer sets where per-call and per-task credentials come
// from: a creds.Issuer such as creds.NewMinter, creds.NewSVIDIssuer or
// creds.NewExchangeIssuer. (Not creds.WithIssuer, which sets the "iss"
// claim a minter writes.)
func WithCredentialIssuer(i creds.Issuer) Option {
	return optionFunc(func(c *config) error {
		if i == nil {
			return errors.New("toolguard: WithCredentialIssuer(nil)")
		}
		c.issuer = i
		return nil
	})
}

// WithIssuer is WithCredentialIssuer.
//
// Deprecated: use WithCredentialIssuer; the name collided with
// creds.WithIssuer, which sets a claim, not a component.
func WithIssuer(i creds.Issuer) Option { return WithCredentialIssuer(i) }

// WithTracerProvider sets the provider of the guard's spans. The default is
// OpenTelemetry's global provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) error {
		if tp == nil {
			return errors.New("toolguard: WithTracerProvider(nil)")
		}
		c.tracerProvider = tp
		return nil
	})
}

// WithSink sets where decision records go. The default writes JSON lines to
// standard error, so that no decision goes unrecorded.
func WithSink(s audit.Sink) Option {
	return optionFunc(func(c *config) error {
		if s == nil {
			return errors.New("toolguard: WithSink(nil)")
		}
		c.sink = s
		return nil
	})
}

// WithApprover sets who approves calls the policy allows only with approval.
// Without one, such calls are denied.
func WithApprover(a Approver) Option {
	return optionFunc(func(c *config) error {
		if a == nil {
			return errors.New("toolguard: WithApprover(nil)")
		}
		c.approver = a
		return nil
	})
}

// WithApprovalTimeout bounds how long an approval may take (default 2m);
// past it the call is denied.
func WithApprovalTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return errors.New("toolguard: approval timeout must be positive")
		}
		c.approvalTimeout = d
		return nil
	})
}

// WithMaxCredentialTTL caps the lifetime of every credential the guard
// issues (default 5m): requests are clamped to it, and a credential an
// issuer returns with a longer life is revoked at once and the call denied.
func WithMaxCredentialTTL(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return errors.New("toolguard: max credential TTL must be positive")
		}
		c.maxCredTTL = d
		return nil
	})
}

// WithEnrichFrameworkSpans makes the guard add its attributes, links and
// events to the execute_tool span an agent framework (an Anthropic or ADK
// tool runner) already started around the call, instead of nesting a second
// execute_tool span under it.
func WithEnrichFrameworkSpans() Option {
	return optionFunc(func(c *config) error {
		c.records = append(c.records, audit.WithEnrichedSpans())
		return nil
	})
}

// WithArgsDigestKey sets the key of the arguments digest, the
// "hmac-sha256:<hex>" that names a call's arguments in its span
// (ztagent.args.digest), its decision record, the policy input and an
// approval request. By default each guard makes up a random key, so a digest
// says nothing about the arguments to whoever reads a trace or a record: a
// plain hash of a short secret is found by hashing guesses. Give guards the
// same key (at least audit.MinKeyLen bytes, kept like any secret) when
// digests from several processes must be compared, or recomputed by an
// auditor.
func WithArgsDigestKey(key []byte) Option {
	return optionFunc(func(c *config) error {
		if len(key) < audit.MinKeyLen {
			return fmt.Errorf("toolguard: WithArgsDigestKey: a key of %d bytes; at least %d", len(key), audit.MinKeyLen)
		}
		c.argsKey = append([]byte(nil), key...)
		return nil
	})
}

// WithClock sets the guard's clock (default time.Now), for tests. It is the
// one clock of everything the guard judges by time: the SVID's validity, the
// policy input's time, task expiry, credential lifetimes, when a failed
// revocation is due for a retry and when a task credential is renewed, and
// the clock of the defaults New builds (identity, minter, policy engine).
// Background sweeps wake on real time and then read this clock, so a clock
// that stands still holds work back rather than run it early. The approval
// deadline (WithApprovalTimeout) is a context deadline, in real time.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) error {
		if now == nil {
			return errors.New("toolguard: WithClock(nil)")
		}
		c.now = now
		return nil
	})
}
