package toolguard

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/ztagent/ztagent/authz"
)

// CodeBadPeer denies a call whose peer claims (WithPeer) are malformed or
// past their bounds: claims nobody can read are not judged.
const CodeBadPeer = "bad_peer"

// UnauthenticatedPeer is how records and spans name a peer whose identity
// was not authenticated (Peer.ID is empty).
const UnauthenticatedPeer = "unauthenticated"

// Bounds of a peer's claims. A peer is another process: what it sends is
// as adversarial as a model's arguments.
const (
	maxPeerIDLen  = 2048
	maxPeerLabels = 32  // chain entries, taint labels
	maxPeerLabel  = 512 // bytes of one
)

// Peer is the process that asked for a call from another process — an MCP
// client, through an adapter such as toolguard/mcpguard — and what it says
// about the call.
//
// ID is the identity this process authenticated: the SPIFFE ID of the
// peer's X.509-SVID over mTLS, or the subject of a token it presented.
// Leave it empty when the peer was not authenticated; never fill it from
// what the peer merely says.
//
// Chain and Taint are claims, verified by nobody. The policy sees them as
// the peer's (input.peer), apart from what this process knows itself: the
// default policy lets claimed taint make a decision stricter (a conversation
// the peer says read untrusted content is judged as tainted), and never
// lets a claim loosen one.
type Peer struct {
	ID    string
	Chain []string // the principal chain the peer says it acts for
	Taint []string // labels of untrusted content its conversation read
}

// WithPeer returns a context whose calls were asked for by p. Claims are
// checked when a call is made: malformed ones deny it (CodeBadPeer), with
// a record, rather than being dropped.
func WithPeer(ctx context.Context, p Peer) context.Context {
	p.Chain, p.Taint = slices.Clone(p.Chain), slices.Clone(p.Taint)
	return context.WithValue(ctx, peerKey, &p)
}

func peerOf(ctx context.Context) *Peer {
	p, _ := ctx.Value(peerKey).(*Peer)
	return p
}

// recorded is how records and spans name the peer.
func (p *Peer) recorded() string {
	switch {
	case p == nil:
		return ""
	case p.ID == "":
		return UnauthenticatedPeer
	}
	return p.ID
}

// check refuses claims past their bounds, or that are not printable text.
func (p *Peer) check() error {
	if err := checkPeerText("peer id", p.ID, maxPeerIDLen); err != nil {
		return err
	}
	for _, list := range []struct {
		name   string
		labels []string
	}{{"principal chain", p.Chain}, {"taint", p.Taint}} {
		if len(list.labels) > maxPeerLabels {
			return fmt.Errorf("the peer's %s has %d entries, at most %d are read", list.name, len(list.labels), maxPeerLabels)
		}
		for i, l := range list.labels {
			if l == "" {
				return fmt.Errorf("the peer's %s entry %d is empty", list.name, i)
			}
			if err := checkPeerText(fmt.Sprintf("the peer's %s entry %d", list.name, i), l, maxPeerLabel); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkPeerText(what, s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%s is %d bytes, at most %d are read", what, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%s holds a control character", what)
		}
	}
	return nil
}

// input is the peer as the policy sees it; the slices are the context's
// own copies, never changed after WithPeer, so they are shared.
func (p *Peer) input() *authz.Peer {
	if p == nil {
		return nil
	}
	return &authz.Peer{ID: p.ID, Chain: p.Chain, Taint: p.Taint}
}
