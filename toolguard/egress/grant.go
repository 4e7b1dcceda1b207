package egress

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
)

type grantKey struct{}

// Grant is what a decision granted to one call: the hosts it may reach
// (canonical, as CanonicalHost writes them), whether granted names may
// resolve to private addresses, and the files it may open. It holds until
// End.
type Grant struct {
	hosts        []string
	allowPrivate bool
	files        []File
	ended        atomic.Bool // the call returned: the grant serves nothing any more
}

// WithGrant returns a context under which Transport, DialControl, OpenFile
// and AllowedHosts serve a grant of hosts, allowPrivate and files, until
// End is called on the grant. A guard (package toolguard) makes the grant of
// each call from its decision this way; a test, or an agent loop of your
// own, can too. It gives code nothing it could not take anyway: what this
// package limits is the code that goes through it.
//
// Hosts are canonicalized like destinations, so "Docs.Example.com." and
// "0x7f.1" compare as the transport and dialer see them; a host that cannot
// be canonicalized can never match and is dropped. files are paths
// ResolvePath accepted; the grant keeps the slice, which must not be
// modified after.
func WithGrant(ctx context.Context, hosts []string, allowPrivate bool, files []File) (context.Context, *Grant) {
	g := &Grant{allowPrivate: allowPrivate, hosts: make([]string, 0, len(hosts)), files: files}
	for _, s := range hosts {
		if h, ok := grantedHosts.canonical(s); ok {
			g.hosts = append(g.hosts, h)
		}
	}
	return context.WithValue(ctx, grantKey{}, g), g
}

// End ends the grant: from then on nothing is served under it — no file
// opened, no request sent, no connection made or reused — to the call's
// own code or to a goroutine or context it left behind. A request already
// under way (a body still being sent) is not cut off.
func (g *Grant) End() { g.ended.Store(true) }

func (g *Grant) granted(host string) bool { return slices.Contains(g.hosts, host) }

// grantedHosts is shared by every grant of the process: decisions grant the
// same few hosts call after call, and canonicalHost is a pure function of
// its argument, so whose grant filled the memo does not matter.
var grantedHosts hostMemo

// hostMemo remembers canonicalHost of the hosts decisions grant. Only
// successes are kept, up to maxMemoHosts; past that, hosts are canonicalized
// per call. A nil memo canonicalizes every time.
type hostMemo struct {
	m sync.Map // granted host → canonical host
	n atomic.Int64
}

const maxMemoHosts = 4096

func (m *hostMemo) canonical(s string) (string, bool) {
	if m != nil {
		if h, ok := m.m.Load(s); ok {
			return h.(string), true
		}
	}
	h, err := CanonicalHost(s)
	if err != nil {
		return "", false
	}
	if m != nil && m.n.Load() < maxMemoHosts {
		if _, loaded := m.m.LoadOrStore(s, h); !loaded {
			m.n.Add(1)
		}
	}
	return h, true
}

var (
	errNoCall    = errors.New("not within a guarded call")
	errCallEnded = errors.New("the guarded call has returned")
)

// grantFrom is the grant of the guarded call running under ctx, while it
// lasts: a goroutine or a context the tool leaves behind is served nothing
// once the call has returned.
func grantFrom(ctx context.Context) (*Grant, error) {
	g, _ := ctx.Value(grantKey{}).(*Grant)
	if g == nil {
		return nil, errNoCall
	}
	if err := g.live(); err != nil {
		return nil, err
	}
	return g, nil
}

// live is errCallEnded once the grant's call has returned.
func (g *Grant) live() error {
	if g.ended.Load() {
		return errCallEnded
	}
	return nil
}

// AllowedHosts returns the hosts the decision granted to the call running
// under ctx. Outside a guarded call, or once it has returned, it returns
// none, and ok is false.
func AllowedHosts(ctx context.Context) (hosts []string, ok bool) {
	g, err := grantFrom(ctx)
	if err != nil {
		return nil, false
	}
	return slices.Clone(g.hosts), true
}
