package toolguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ztagent/ztagent/internal/digest"
)

// frozen is the authorized copy of a call's arguments: the canonical JSON the
// policy saw, its digest, and the decoded form destinations are derived from.
// The tool receives a value rebuilt from raw, never the caller's value, so
// changing the caller's value after the decision changes nothing.
type frozen struct {
	raw     []byte
	digest  string
	decoded any
}

// freezeJSON canonicalizes raw JSON arguments: numbers kept exactly, object
// keys sorted, insignificant space removed. Trailing data is refused so that
// the policy and the tool cannot read two different documents.
func freezeJSON(raw []byte) (frozen, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return frozen{}, fmt.Errorf("arguments are not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return frozen{}, errors.New("arguments have data after the JSON value")
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return frozen{}, fmt.Errorf("arguments cannot be re-encoded: %w", err)
	}
	return frozen{raw: canon, digest: digest.Of(canon), decoded: v}, nil
}

// freezeValue marshals typed arguments, canonicalizes them and rebuilds a
// fresh value from the canonical bytes. A type that does not survive the round
// trip (unexported state, custom marshalers that lose data) is refused: the
// tool would otherwise run on something other than what was authorized.
func freezeValue[A any](a A) (A, frozen, error) {
	var zero A
	b, err := json.Marshal(a)
	if err != nil {
		return zero, frozen{}, fmt.Errorf("arguments do not marshal to JSON: %w", err)
	}
	f, err := freezeJSON(b)
	if err != nil {
		return zero, frozen{}, err
	}
	var copied A
	if err := json.Unmarshal(f.raw, &copied); err != nil {
		return zero, frozen{}, fmt.Errorf("arguments do not unmarshal from their own JSON: %w", err)
	}
	again, err := json.Marshal(copied)
	// The usual case: the copy marshals to the very bytes the value did, so
	// it canonicalizes to the same digest without a second canonical pass.
	if err == nil && !bytes.Equal(again, b) {
		var g frozen
		if g, err = freezeJSON(again); err == nil && g.digest != f.digest {
			err = errors.New("arguments change in a JSON round trip")
		}
	}
	if err != nil {
		return zero, frozen{}, fmt.Errorf("arguments cannot be frozen: %w", err)
	}
	return copied, f, nil
}
