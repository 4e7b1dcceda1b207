package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ztagent/ztagent/internal/digest"
	"github.com/ztagent/ztagent/internal/jsonenc"
)

// Redacted is what a redacted argument value becomes when no HMAC key is set.
const Redacted = "[redacted]"

// hmacPrefix names the keyed hash of a redacted value, so a reader can tell it
// from an argument that merely looks like hex.
const hmacPrefix = "hmac-sha256:"

// MinKeyLen is the shortest HMAC key this package accepts. A shorter key, and
// in particular an empty one read from an unset variable, is refused rather
// than used: a guessable key makes the HMAC of a low-entropy secret reversible.
const MinKeyLen = 16

// argsPathPrefix is how an authorization decision names argument paths:
// relative to the policy input, whose call.args holds the arguments.
const argsPathPrefix = "call.args"

// ArgsRecorder turns a call's arguments into the values a decision record may
// show: a copy with every redacted path replaced. Build it once; it is safe for
// concurrent use.
type ArgsRecorder struct {
	key []byte
}

// NewArgsRecorder returns an ArgsRecorder. With a nil key redacted values
// become [Redacted]; with a key of at least [MinKeyLen] bytes they become
// "hmac-sha256:<hex>" of their canonical JSON, so that equal values can be
// correlated across records without being readable. Any other key is an error.
func NewArgsRecorder(hmacKey []byte) (*ArgsRecorder, error) {
	if err := checkKey(hmacKey); err != nil {
		return nil, err
	}
	var key []byte
	if hmacKey != nil {
		key = bytes.Clone(hmacKey)
	}
	return &ArgsRecorder{key: key}, nil
}

func checkKey(key []byte) error {
	if key != nil && len(key) < MinKeyLen {
		return fmt.Errorf("audit: HMAC key of %d bytes is shorter than %d", len(key), MinKeyLen)
	}
	return nil
}

// RedactArgs is NewArgsRecorder(hmacKey) followed by Record(args, redact).
func RedactArgs(args json.RawMessage, redact []string, hmacKey []byte) (map[string]any, error) {
	r, err := NewArgsRecorder(hmacKey)
	if err != nil {
		return nil, err
	}
	return r.Record(args, redact)
}

// Record decodes args, which must be a JSON object (or null, giving nil), and
// returns it with the values at the redact paths replaced. Arguments with a
// duplicate key or data after the object are refused: they can be read two
// ways, so no record of them is the record of what the tool got.
//
// A path is dotted and relative to the arguments ("body", "to.0",
// "headers.authorization"); the decision form "call.args.body" is accepted
// too, and "call.args" alone redacts every argument. A numeric segment picks
// an array element and "*" every key or element; any other segment that meets
// an array applies to each element, because the safe reading of an unclear
// path is the one that hides more. Arrays and objects not on a path are copied
// untouched. Keys that contain dots are matched too ("api.key" in "api.key"),
// and a path with white space around it is read both as written and trimmed.
// A key matches a path segment as encoding/json matches a key to a struct
// field, exactly or folding case: "Password", "PASSWORD" and "paſſword"
// (U+017F) are all read as a field password by the tool, so all are hidden.
// Paths that name nothing are ignored: a policy may list fields some calls
// lack. On error nothing is returned, so no value escapes a failed redaction.
func (a *ArgsRecorder) Record(args json.RawMessage, redact []string) (map[string]any, error) {
	if a == nil {
		return nil, errors.New("audit: nil ArgsRecorder")
	}
	v, err := decodeArgs(args)
	if err != nil {
		return nil, err
	}
	return a.RecordValue(v, redact)
}

// RecordValue is [ArgsRecorder.Record] for arguments already decoded, so a
// caller that holds them decoded need not parse them again. v must be what
// encoding/json decodes into an any with UseNumber (a map[string]any of
// json.Number, string, bool, nil, []any and map[string]any), or nil, giving
// nil: decoded without UseNumber, a number may lose digits and its HMAC then
// differs from the one Record gives. v is never changed; the result shares
// with it every object and array that is not on a redact path (and is v
// itself when no path applies), so both must be treated as read-only.
func (a *ArgsRecorder) RecordValue(v any, redact []string) (map[string]any, error) {
	if a == nil {
		return nil, errors.New("audit: nil ArgsRecorder")
	}
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, notObject(v)
	}
	var root any = obj
	for _, p := range redact {
		for _, segs := range argPaths(p) {
			var err error
			if root, err = a.redactAt(root, segs); err != nil {
				return nil, err
			}
		}
	}
	return root.(map[string]any), nil
}

// decodeArgs decodes arguments as strictly as a chained log line: duplicate
// keys are refused too, because arguments that two readers can read two ways
// (the policy keeping one value, the tool another) have no one true record.
func decodeArgs(args []byte) (any, error) {
	v, err := jsonenc.DecodeStrict(args) // numbers stay exactly as the policy saw them
	if errors.Is(err, jsonenc.ErrTrailingData) {
		return nil, errors.New("audit: arguments have data after the JSON value")
	}
	if err != nil {
		return nil, fmt.Errorf("audit: arguments are not valid JSON: %w", err)
	}
	return v, nil
}

// argPaths reads one redact entry as every argument path it can mean. The
// literal reading is kept beside the others: an argument may itself be called
// "call", " body" or "" (JSON allows any key), and redacting every reading is
// the safe choice.
func argPaths(p string) [][]string {
	paths := argPathsOf(p, nil)
	if t := strings.TrimSpace(p); t != p {
		paths = argPathsOf(t, paths)
	}
	return paths
}

func argPathsOf(p string, paths [][]string) [][]string {
	switch {
	case p == argsPathPrefix:
		return append(paths, []string{"*"})
	case strings.HasPrefix(p, argsPathPrefix+"."):
		return append(paths, strings.Split(strings.TrimPrefix(p, argsPathPrefix+"."), "."), strings.Split(p, "."))
	default:
		return append(paths, strings.Split(p, "."))
	}
}

// redactAt returns v with the value at segs replaced. It copies every object
// and array on the way down before changing it, so the caller's value is
// never changed through the record; what is off the path is shared.
func (a *ArgsRecorder) redactAt(v any, segs []string) (any, error) {
	if len(segs) == 0 {
		return a.mask(v)
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = val
		}
		if segs[0] == "*" {
			for k, val := range x {
				r, err := a.redactAt(val, segs[1:])
				if err != nil {
					return nil, err
				}
				out[k] = r
			}
			return out, nil
		}
		// "a.b.c" may name key "a" then "b.c", or key "a.b" then "c", ...
		// and a key names a field the way encoding/json reads it into the
		// tool's struct: exactly, or folding case ("Password", "paſſword").
		for i := 1; i <= len(segs); i++ {
			k := strings.Join(segs[:i], ".")
			for key, val := range out {
				if key != k && !jsonenc.EqualFoldName(key, k) {
					continue
				}
				r, err := a.redactAt(val, segs[i:])
				if err != nil {
					return nil, err
				}
				out[key] = r
			}
		}
		return out, nil
	case []any:
		out := append([]any(nil), x...)
		if i, err := strconv.Atoi(segs[0]); err == nil && strconv.Itoa(i) == segs[0] {
			if i >= 0 && i < len(out) {
				r, err := a.redactAt(out[i], segs[1:])
				if err != nil {
					return nil, err
				}
				out[i] = r
			}
			return out, nil
		}
		rest := segs
		if segs[0] == "*" {
			rest = segs[1:]
		}
		for i := range out {
			r, err := a.redactAt(out[i], rest)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil // a path through a scalar names nothing
	}
}

// mask replaces one value.
func (a *ArgsRecorder) mask(v any) (any, error) {
	if a.key == nil {
		return Redacted, nil
	}
	canon, err := jsonenc.Marshal(v) // map keys sorted: canonical
	if err != nil {
		return nil, fmt.Errorf("audit: redact: %w", err)
	}
	mac := hmac.New(sha256.New, a.key)
	mac.Write(canon)
	return digest.FormatWith(hmacPrefix, mac.Sum(nil)), nil
}

// notObject says why v, which is not a map[string]any, cannot be recorded.
func notObject(v any) error {
	var kind string
	switch v.(type) {
	case []any:
		kind = "array"
	case string:
		kind = "string"
	case bool:
		kind = "boolean"
	case json.Number, float64:
		kind = "number"
	default: // only from RecordValue, given something json did not decode
		return fmt.Errorf("audit: arguments are a %T, not a decoded JSON object", v)
	}
	return fmt.Errorf("audit: arguments are a JSON %s, not an object", kind)
}
