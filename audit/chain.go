package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ztagent/ztagent/internal/digest"
	"github.com/ztagent/ztagent/internal/jsonenc"
)

// Chain fields a hash-chained JSONLines adds to every line.
const (
	chainPrevField = "prev"
	chainField     = "chain"
)

// Prefixes of chain values: the algorithm is part of the value, so a chain
// checked with the wrong kind of key fails with a clear reason.
const (
	chainPlainPrefix = digest.Prefix // as every other digest ztagent writes
	chainHMACPrefix  = hmacPrefix    // as a redacted value's keyed hash
)

// ErrChainBroken is matched (errors.Is) by every [ChainError].
var ErrChainBroken = errors.New("audit: hash chain broken")

// ChainError says where a hash-chained JSON-lines log stops being trustworthy.
// Lines before Line verified; Line and everything after it may have been
// edited, deleted, reordered or inserted.
type ChainError struct {
	Line   int // 1-based
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit: hash chain broken at line %d: %s", e.Line, e.Reason)
}

// Unwrap lets errors.Is(err, ErrChainBroken) match.
func (e *ChainError) Unwrap() error { return ErrChainBroken }

// chain computes link values: H(prev || canonical JSON of the record).
type chain struct {
	key []byte // nil: plain SHA-256
}

func (c chain) prefix() string {
	if c.key == nil {
		return chainPlainPrefix
	}
	return chainHMACPrefix
}

func (c chain) link(prev string, canon []byte) string {
	var h hash.Hash
	if c.key == nil {
		h = sha256.New()
	} else {
		h = hmac.New(sha256.New, c.key)
	}
	// prev is "" or prefix+hex and canon starts with '{': the concatenation
	// cannot be split two ways.
	h.Write([]byte(prev))
	h.Write(canon)
	return digest.FormatWith(c.prefix(), h.Sum(nil))
}

// appendChain turns one encoded record line ("{...}\n") into the chained line
// with prev and chain as its last two fields.
func appendChain(line []byte, prev, link string) []byte {
	body := bytes.TrimRight(line, "\n")
	body = body[:len(body)-1] // the closing brace
	out := make([]byte, 0, len(body)+len(prev)+len(link)+32)
	out = append(out, body...)
	if len(bytes.TrimSpace(body)) > 1 { // not "{"
		out = append(out, ',')
	}
	out = append(out, `"`+chainPrevField+`":`...)
	out = jsonenc.AppendString(out, prev)
	out = append(out, `,"`+chainField+`":`...)
	out = jsonenc.AppendString(out, link)
	return append(out, "}\n"...)
}

// VerifyJSONLines checks a log written by a JSONLines with [WithHashChain]
// and the same key (nil for a plain SHA-256 chain). It returns the number of
// lines that verified. The first line that was edited, deleted, reordered or
// inserted (or is not a chained record at all) stops the check with a
// *[ChainError] naming its line; read errors are returned as they are.
//
// A chain cannot show that lines were cut from the end, nor, without a key,
// that the whole log was rewritten: keep [JSONLines.Head] somewhere the
// writer of the log cannot change, and compare it with the head returned by
// [VerifyJSONLinesHead].
func VerifyJSONLines(r io.Reader, key []byte) (int, error) {
	n, _, err := VerifyJSONLinesHead(r, key)
	return n, err
}

// VerifyJSONLinesHead is [VerifyJSONLines] that also returns the chain value of
// the last verified line ("" when none did), which [WithChainHead] takes to
// continue the log.
func VerifyJSONLinesHead(r io.Reader, key []byte) (n int, head string, err error) {
	if err := checkKey(key); err != nil {
		return 0, "", err
	}
	if r == nil {
		return 0, "", errors.New("audit: VerifyJSONLines: nil reader")
	}
	c := chain{key: key}
	br := bufio.NewReader(r)
	prev := ""
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if len(b) == 0 && rerr == io.EOF {
			return n, prev, nil
		}
		if rerr != nil && rerr != io.EOF {
			return n, prev, fmt.Errorf("audit: VerifyJSONLines: read: %w", rerr)
		}
		link, reason := c.verifyLine(b, rerr == io.EOF, prev)
		if reason != "" {
			return n, prev, &ChainError{Line: line, Reason: reason}
		}
		prev = link
		n++
		if rerr == io.EOF {
			return n, prev, nil
		}
	}
}

// verifyLine returns the line's chain value, or why it does not continue prev.
func (c chain) verifyLine(b []byte, last bool, prev string) (link, reason string) {
	if last { // ReadBytes found no newline: the write of this line was cut short
		return "", "the last line is incomplete (no newline)"
	}
	b = b[:len(b)-1]
	if !utf8.Valid(b) {
		return "", "the line is not valid UTF-8"
	}
	v, err := jsonenc.DecodeStrict(b)
	if err != nil {
		return "", "the line is not a JSON record: " + err.Error()
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", "the line is not a JSON object"
	}
	gotPrev, ok1 := obj[chainPrevField].(string)
	gotLink, ok2 := obj[chainField].(string)
	if !ok1 || !ok2 {
		return "", `the line has no "prev" and "chain" strings`
	}
	if !strings.HasPrefix(gotLink, c.prefix()) {
		return "", fmt.Sprintf("the chain value is not %s (wrong key, or no key given for a keyed chain)", strings.TrimSuffix(c.prefix(), ":"))
	}
	if gotPrev != prev {
		return "", "prev does not match the previous line's chain value (a line was deleted, inserted or reordered)"
	}
	delete(obj, chainPrevField)
	delete(obj, chainField)
	canon, err := jsonenc.Marshal(obj)
	if err != nil {
		return "", "the record cannot be canonicalized: " + err.Error()
	}
	want := c.link(prev, canon)
	if !hmac.Equal([]byte(want), []byte(gotLink)) {
		return "", "the chain value does not match the record (the line was edited or forged)"
	}
	return gotLink, ""
}

// canonicalize returns the canonical JSON of one encoded value: object keys
// sorted, no insignificant space, numbers as written, no HTML escaping.
func canonicalize(b []byte) ([]byte, error) {
	v, err := jsonenc.DecodeStrict(b)
	if err != nil {
		return nil, err
	}
	return jsonenc.Marshal(v)
}
