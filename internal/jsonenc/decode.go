package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrTrailingData is returned by [DecodeStrict] when anything but JSON
// whitespace follows the value.
var ErrTrailingData = errors.New("data after the JSON value")

// MaxDepth bounds the nesting [DecodeStrict] accepts, as encoding/json bounds
// its own, so hostile input cannot make the recursion arbitrarily deep.
const MaxDepth = 10000

// DecodeStrict decodes one JSON value as encoding/json does into an any with
// UseNumber (objects as map[string]any, arrays as []any, numbers as
// json.Number, kept exactly as written), and refuses what would let two
// readers see two different documents: duplicate object keys (some decoders
// keep the first, encoding/json the last) and data after the value (some
// readers stop at the value, others fail or read on). Trailing data is
// reported as [ErrTrailingData]. Errors quote at most a duplicated key or one
// offending character, never a value.
func DecodeStrict(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	// Checked on the bytes rather than by asking for another token: a token
	// error there is easily taken for "nothing more", which lets trailing
	// bytes that are not JSON at all through.
	if rest := b[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		return nil, ErrTrailingData
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string) // the decoder only yields string keys here
				if _, dup := obj[k]; dup {
					return nil, fmt.Errorf("duplicate key %q", k)
				}
				if obj[k], err = decodeValue(dec, depth+1); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token() // '}'
			return obj, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token() // ']'
			return arr, err
		default:
			return nil, fmt.Errorf("unexpected %v", t)
		}
	default:
		return t, nil // string, json.Number, bool or nil
	}
}
