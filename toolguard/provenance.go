package toolguard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ztagent/ztagent/authz"
)

// Provenance remembers where the values of one conversation came from, so
// that the policy can judge a call by the origin of its arguments rather
// than by whether the conversation read anything untrusted at all: a
// payment to the IBAN the user typed runs; one to an IBAN first seen in an
// e-mail does not, whoever asks.
//
// Values come in two ways. The application registers what it trusts (the
// user's own words) with Trust. A tool declared to return content anyone
// can write (Tool.Output) has the strings of its result registered as
// untrusted, under its label and call id, after it runs; paths of its
// result it declares the user's own records (a calendar event's
// participants, the user's payee list) are registered as trusted. Besides
// each string itself, the URLs (by host), e-mail addresses, IBANs, phone
// numbers and chat names in it are registered, in the canonical forms the
// guard derives destinations in, so a value is matched however the model
// rewrites its spelling; and its code-like words (at least six characters
// mixing letters and digits, or six to eight digits: a password, a
// one-time code), so one an injection dictates is recognized in the
// argument it is copied into.
//
// Values are held only as keyed digests (HMAC-SHA256 under a key of the
// Provenance's own), never in clear. A Provenance holds at most
// WithMaxValues values (default DefaultMaxValues); past that, or for a
// value longer than it scans (DefaultMaxValueLen), it stops vouching for
// anything: every later call's input says provenance_overflow, and the
// default policy then treats every value as possibly untrusted. It is safe
// for concurrent use.
type Provenance struct {
	key      [32]byte
	max      int
	maxValue int

	mu       sync.Mutex
	seen     map[valueKey]*origin
	overflow atomic.Bool
}

// Limits of a Provenance.
const (
	// DefaultMaxValues bounds the values one conversation remembers: about
	// 100 bytes each, so 10,000 values are about 1 MB.
	DefaultMaxValues = 10_000
	// DefaultMaxValueLen bounds the text scanned for URLs, addresses and
	// account numbers in one value.
	DefaultMaxValueLen = 1 << 20
	// maxSources bounds the untrusted sources remembered per value: the
	// first ones, which say where it came from.
	maxSources = 4
)

// valueKey is a keyed digest of a value as one kind reads it.
type valueKey [16]byte

type origin struct {
	trusted bool
	sources []string // untrusted sources, first seen first
}

// ProvenanceOption configures a Provenance.
type ProvenanceOption interface{ apply(*Provenance) }

type provenanceOption func(*Provenance)

func (o provenanceOption) apply(p *Provenance) { o(p) }

// WithMaxValues bounds the values remembered (default DefaultMaxValues).
func WithMaxValues(n int) ProvenanceOption {
	return provenanceOption(func(p *Provenance) {
		if n > 0 {
			p.max = n
		}
	})
}

// WithMaxValueLen bounds the bytes of one value scanned for URLs,
// addresses and account numbers (default DefaultMaxValueLen).
func WithMaxValueLen(n int) ProvenanceOption {
	return provenanceOption(func(p *Provenance) {
		if n > 0 {
			p.maxValue = n
		}
	})
}

// NewProvenance returns an empty Provenance for one conversation.
func NewProvenance(opts ...ProvenanceOption) *Provenance {
	p := &Provenance{max: DefaultMaxValues, maxValue: DefaultMaxValueLen, seen: map[valueKey]*origin{}}
	if _, err := rand.Read(p.key[:]); err != nil {
		panic("toolguard: no randomness for a provenance key: " + err.Error())
	}
	for _, o := range opts {
		if o != nil {
			o.apply(p)
		}
	}
	return p
}

// Errors of Trust and Untrusted.
var (
	ErrProvenanceFull  = errors.New("toolguard: provenance holds as many values as it may")
	ErrValueTooLong    = errors.New("toolguard: value too long to scan for provenance")
	errNoUntrustedName = errors.New("toolguard: an untrusted source needs a name, such as untrusted:web")
)

// Trust registers values from a source the user vouches for: the user's
// own message, the user's own records. A value too long to scan is
// refused (ErrValueTooLong) and registers nothing of itself; when the
// Provenance is full, the values past its bound are refused
// (ErrProvenanceFull).
func (p *Provenance) Trust(values ...string) error {
	return p.register("", values)
}

// Untrusted registers values from content anyone can write, under source
// (a label such as "untrusted:web", with "@call_id" when a tool call
// brought it). A value too long to scan, or one past the bound, makes the
// Provenance overflow (see Provenance) and is reported.
func (p *Provenance) Untrusted(source string, values ...string) error {
	if source == "" {
		return errNoUntrustedName
	}
	err := p.register(source, values)
	if err != nil {
		p.overflow.Store(true)
	}
	return err
}

// Overflowed reports whether the Provenance stopped keeping track.
func (p *Provenance) Overflowed() bool { return p.overflow.Load() }

// Len is how many values the Provenance remembers.
func (p *Provenance) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

func (p *Provenance) register(source string, values []string) error {
	var errs error
	var keys []valueKey
	for _, v := range values {
		if len(v) > p.maxValue {
			errs = errors.Join(errs, fmt.Errorf("%w (%d bytes; at most %d)", ErrValueTooLong, len(v), p.maxValue))
			continue
		}
		keys = p.appendKeys(keys, v)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		o := p.seen[k]
		if o == nil {
			if len(p.seen) >= p.max {
				return errors.Join(errs, ErrProvenanceFull)
			}
			o = &origin{}
			p.seen[k] = o
		}
		switch {
		case source == "":
			o.trusted = true
		case len(o.sources) < maxSources && !slices.Contains(o.sources, source):
			o.sources = append(o.sources, source)
		}
	}
	return errs
}

// appendKeys appends the keys v is registered under: itself, and each
// destination-like token in it, in canonical form.
func (p *Provenance) appendKeys(keys []valueKey, v string) []valueKey {
	keys = append(keys, p.key1("v", v))
	for t := range tokens(v) {
		keys = append(keys, p.key1(t.kind, t.value))
	}
	return keys
}

func (p *Provenance) key1(kind, v string) valueKey {
	m := hmac.New(sha256.New, p.key[:])
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(v))
	var k valueKey
	copy(k[:], m.Sum(nil))
	return k
}

// lookup merges what is known of keys: trusted when any of them was
// registered trusted, the untrusted sources of all. known is false when
// none was seen.
func (p *Provenance) lookup(keys []valueKey) (o authz.Origin, known bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		s := p.seen[k]
		if s == nil {
			continue
		}
		known = true
		o.Trusted = o.Trusted || s.trusted
		for _, src := range s.sources {
			if !slices.Contains(o.Sources, src) && len(o.Sources) < maxSources {
				o.Sources = append(o.Sources, src)
			}
		}
	}
	o.Untrusted = len(o.Sources) > 0
	return o, known
}

// WithProvenance returns a context whose calls are judged with what p
// knows of their arguments, and whose tools' outputs are registered in p
// (Tool.Output).
func WithProvenance(ctx context.Context, p *Provenance) context.Context {
	return context.WithValue(ctx, provenanceKey, p)
}

func provenanceOf(ctx context.Context) *Provenance {
	p, _ := ctx.Value(provenanceKey).(*Provenance)
	return p
}
