package egress

import (
	"errors"
	"fmt"
)

// ErrEgressDenied is what every refusal by the call's egress or file grant
// matches with errors.Is: a network request, a redirect hop, a dial, the
// check of a connection before a request is written on it, and a file
// open — outside a guarded call and after it returned too. An http.Client
// wraps the refusal in a *url.Error, and a net.Dialer in a *net.OpError;
// errors.Is sees through both. A failure of what the grant allowed (a file
// that does not exist, a peer that refuses the connection) does not match:
// the guard did not refuse it.
var ErrEgressDenied = errors.New("toolguard: egress denied")

// refusal keeps the text and the wrapped chain of the message it was
// built from, so callers who match on the text or on a cause (a call that
// has returned) still can, and adds ErrEgressDenied to what it matches.
type refusal struct{ err error }

func (r *refusal) Error() string        { return r.err.Error() }
func (r *refusal) Unwrap() error        { return r.err }
func (r *refusal) Is(target error) bool { return target == ErrEgressDenied }

// refused is fmt.Errorf for a refusal by the grant: every refusal site
// builds its error here, so none of them can forget the sentinel. The
// messages of this package begin "toolguard: ", not "egress: ": they are
// the texts these refusals had when the package was part of toolguard, and
// callers match on them.
func refused(format string, a ...any) error {
	return &refusal{err: fmt.Errorf(format, a...)}
}
