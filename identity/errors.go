package identity

import "errors"

var (
	// ErrExpired means the current SVID is past its NotAfter. The expired SVID
	// is never handed out: callers must deny rather than present a credential
	// that peers will reject (or, worse, accept with a skewed clock).
	ErrExpired = errors.New("identity: svid expired")

	// ErrClosed means the source was closed (or is the zero value) and holds
	// no keys any more.
	ErrClosed = errors.New("identity: source closed")
)
