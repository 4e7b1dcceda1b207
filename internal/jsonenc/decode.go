package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
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
// keep the first, encoding/json the last), data after the value (some
// readers stop at the value, others fail or read on), invalid UTF-8 and lone
// UTF-16 surrogate escapes (encoding/json reads both as U+FFFD, others keep
// or refuse them). Trailing data is
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
	// encoding/json reads both as U+FFFD; other readers keep the bytes, or
	// the lone surrogate, or refuse them.
	if !utf8.Valid(b) {
		return nil, errors.New("invalid UTF-8")
	}
	if loneSurrogate(b) {
		return nil, errors.New(`a lone UTF-16 surrogate escape ("\ud800"), which JSON readers decode differently`)
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

// loneSurrogate reports whether b, valid JSON, has a \u escape of a UTF-16
// surrogate that is not half of a pair. No encoder in this project writes one.
func loneSurrogate(b []byte) bool {
	high := false // the escape before was a high surrogate
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			if high {
				return true
			}
			continue
		}
		if i+1 >= len(b) || b[i+1] != 'u' || i+6 > len(b) {
			if high {
				return true
			}
			i++ // a two-character escape
			continue
		}
		r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		if err != nil {
			return true
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if high {
				return true
			}
			high = true
		case r >= 0xDC00 && r <= 0xDFFF:
			if !high {
				return true
			}
			high = false
		default:
			if high {
				return true
			}
		}
		i += 5
	}
	return high
}
