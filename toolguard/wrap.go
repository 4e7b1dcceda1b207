package toolguard

import (
	"context"
	"encoding/json"
	"errors"
)

// Wrap guards fn. The returned function authorizes every call on its own
// before fn runs; fn receives a frozen copy of the arguments that were
// authorized, rebuilt from their canonical JSON, and its context carries the
// call's credential (creds.FromContext) and granted egress (AllowedHosts).
//
// Only what A marshals to JSON is authorized, so only that reaches fn:
// unexported fields arrive zeroed. A type whose JSON changes in a round trip
// (a lossy custom marshaler) is denied with CodeBadArgs. A bad tool declaration, a nil guard or a nil fn is an error
// here, not a surprise at call time.
func Wrap[A, R any](g *Guard, tool Tool, fn func(context.Context, A) (R, error)) (func(context.Context, A) (R, error), error) {
	t, err := checkWrap(g, tool, fn == nil)
	if err != nil {
		return nil, err
	}
	vf := newValueFreezer[A](newFreezer(t.Destinations, g.digests))
	return func(ctx context.Context, args A) (R, error) {
		var out R
		copied, f, ferr := vf.freeze(args)
		err := g.do(ctx, &t, f, ferr, func(ctx context.Context) error {
			var runErr error
			out, runErr = fn(ctx, copied)
			return runErr
		})
		return out, err
	}, nil
}

// WrapJSON guards a tool that takes its arguments as raw JSON, as most model
// APIs deliver them. fn receives the canonical form of the arguments that
// were authorized (keys sorted, numbers kept exactly), never the raw bytes.
func WrapJSON(g *Guard, tool Tool, fn func(context.Context, json.RawMessage) (json.RawMessage, error)) (func(context.Context, json.RawMessage) (json.RawMessage, error), error) {
	t, err := checkWrap(g, tool, fn == nil)
	if err != nil {
		return nil, err
	}
	fz := newFreezer(t.Destinations, g.digests)
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var out json.RawMessage
		f, ferr := fz.freezeJSON(raw)
		err := g.do(ctx, &t, f, ferr, func(ctx context.Context) error {
			var runErr error
			out, runErr = fn(ctx, append(json.RawMessage(nil), f.raw...))
			return runErr
		})
		return out, err
	}, nil
}

func checkWrap(g *Guard, tool Tool, nilFn bool) (Tool, error) {
	if g == nil {
		return Tool{}, errors.New("toolguard: Wrap with a nil guard")
	}
	if nilFn {
		return Tool{}, errors.New("toolguard: Wrap with a nil function")
	}
	return tool.validate()
}
