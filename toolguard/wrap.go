package toolguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/ztagent/ztagent/internal/jsonshape"
)

// Wrap guards fn. The returned function authorizes every call on its own
// before fn runs; fn receives a frozen copy of the arguments that were
// authorized, rebuilt from their canonical JSON, and its context carries the
// call's credential (creds.FromContext) and its egress grant, which the
// tool's requests, dials and file opens go through (package egress).
//
// Only what A marshals to JSON is authorized, so only that reaches fn:
// unexported fields arrive zeroed. A type whose JSON changes in a round trip
// (a lossy custom marshaler) is denied with CodeBadArgs.
//
// A bad tool declaration, a nil guard or a nil fn is an error here, not a
// surprise at call time; so is a destination or redaction path that A's
// JSON shape does not have (the error names the field and lists A's), or a
// destination whose field is not a string or an array of strings.
func Wrap[A, R any](g *Guard, tool Tool, fn func(context.Context, A) (R, error)) (func(context.Context, A) (R, error), error) {
	t, spec, err := checkWrap(g, tool, fn == nil, jsonshape.Of(reflect.TypeFor[A]()), jsonshape.Of(reflect.TypeFor[R]()))
	if err != nil {
		return nil, err
	}
	vf := newValueFreezer[A](newFreezer(t.Destinations, g.digests, spec))
	return func(ctx context.Context, args A) (R, error) {
		var out R
		copied, f, ferr := vf.freeze(args)
		err := g.do(ctx, &t, f, ferr, func(ctx context.Context) error {
			var runErr error
			out, runErr = fn(ctx, copied)
			if runErr == nil {
				recordOutput(ctx, &t, func() ([]byte, error) { return json.Marshal(out) })
			}
			return runErr
		})
		return out, err
	}, nil
}

// WrapJSON guards a tool that takes its arguments as raw JSON, as most model
// APIs deliver them. fn receives the canonical form of the arguments that
// were authorized (keys sorted, numbers kept exactly), never the raw bytes.
//
// The guard assumes fn decodes them with encoding/json (or a decoder that
// matches keys no more loosely): keys are matched to the tool's fields
// exactly first, then by case folding. Arguments whose keys could be read
// two ways — a key that folds to a declared destination or redaction field
// without being spelled as it is ({"URL": …} for a field url), or two keys
// that fold together — are denied with CodeBadArgs. With tool.InputSchema
// the schema's properties count as fields too, arguments are validated
// against it, and declared paths are checked against it here.
func WrapJSON(g *Guard, tool Tool, fn func(context.Context, json.RawMessage) (json.RawMessage, error)) (func(context.Context, json.RawMessage) (json.RawMessage, error), error) {
	t, spec, err := checkWrap(g, tool, fn == nil, nil, nil)
	if err != nil {
		return nil, err
	}
	fz := newFreezer(t.Destinations, g.digests, spec)
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var out json.RawMessage
		f, ferr := fz.freezeJSON(raw)
		err := g.do(ctx, &t, f, ferr, func(ctx context.Context) error {
			var runErr error
			out, runErr = fn(ctx, append(json.RawMessage(nil), f.raw...))
			if runErr == nil {
				recordOutput(ctx, &t, func() ([]byte, error) { return out, nil })
			}
			return runErr
		})
		return out, err
	}, nil
}

// checkWrap validates the declaration and builds its argument checks.
// shape is the JSON shape of the tool's argument type (nil for raw JSON);
// without one, the input schema's shape stands in for it.
func checkWrap(g *Guard, tool Tool, nilFn bool, shape, result *jsonshape.Shape) (Tool, *argSpec, error) {
	if g == nil {
		return Tool{}, nil, errors.New("toolguard: Wrap with a nil guard")
	}
	if nilFn {
		return Tool{}, nil, errors.New("toolguard: Wrap with a nil function")
	}
	t, err := tool.validate()
	if err != nil {
		return Tool{}, nil, err
	}
	var schema *jsonschema.Resolved
	if len(t.InputSchema) > 0 {
		var schemaShape *jsonshape.Shape
		if schema, schemaShape, err = parseInputSchema(t.InputSchema); err != nil {
			return Tool{}, nil, fmt.Errorf("toolguard: tool %s: %w", t.Name, err)
		}
		if shape == nil || shape.Kind == jsonshape.Raw { // the schema says more than raw bytes do
			shape = schemaShape
		}
	}
	spec, err := newArgSpec(&t, shape, schema)
	if err != nil {
		return Tool{}, nil, err
	}
	if t.output != nil {
		if err := t.output.checkShape(result); err != nil {
			return Tool{}, nil, fmt.Errorf("toolguard: tool %s: %w", t.Name, err)
		}
	}
	return t, spec, nil
}
