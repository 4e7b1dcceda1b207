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

// ErrTornWrite is matched (errors.Is) by every [TornWriteError].
var ErrTornWrite = errors.New("audit: lines cut short by failed writes")

// TornWriteError reports lines that are not records between records that all
// verified: writes cut short (the start of a record that runs out), which
// JSONLines ends with a newline and goes on after. The chain runs unbroken around them (the record after them links to
// the record before), so no record was removed there; a record cut to a
// fragment would break the chain instead, since the next one links to it.
// Lines are 1-based.
type TornWriteError struct {
	Lines []int
}

func (e *TornWriteError) Error() string {
	return fmt.Sprintf("audit: %d line(s) cut short by failed writes (lines %v); every record around them verified", len(e.Lines), e.Lines)
}

// Unwrap lets errors.Is(err, ErrTornWrite) match.
func (e *TornWriteError) Unwrap() error { return ErrTornWrite }

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
// records that verified. The first line that was edited, deleted, reordered
// or inserted (or is not a chained record at all) stops the check with a
// *[ChainError] naming its line; read errors are returned as they are. Lines
// that are the start of a record cut short, each followed by a record that
// continues the chain from the record before them, are what failed writes
// leave: the check goes on past them and returns a *[TornWriteError] naming
// them, with every record counted.
//
// The chain vouches for what each line says (its canonical JSON), not for its
// bytes: a log a shipper re-serialized (keys reordered, spaces, characters
// written as escapes) still verifies. A line with an escape that JSON readers
// decode differently (a lone UTF-16 surrogate) is refused.
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
	var torn, pending []int // fragments seen; those not yet followed by a record
	pendingReason := ""
	for line := 1; ; line++ {
		b, rerr := readLine(br)
		if errors.Is(rerr, errLineTooLong) {
			return n, prev, &ChainError{Line: line, Reason: rerr.Error()}
		}
		if len(b) == 0 && rerr == io.EOF {
			break
		}
		if rerr != nil && rerr != io.EOF {
			return n, prev, fmt.Errorf("audit: VerifyJSONLines: read: %w", rerr)
		}
		last := rerr == io.EOF
		link, reason := c.verifyLine(b, last, prev)
		switch {
		case reason == "":
			torn, pending = append(torn, pending...), nil
			prev = link
			n++
		case !last && isFragment(b[:len(b)-1]):
			// A fragment, if the next record continues the chain from prev.
			if len(pending) == 0 {
				pendingReason = reason
			}
			pending = append(pending, line)
		case len(pending) > 0:
			return n, prev, &ChainError{Line: pending[0], Reason: pendingReason}
		default:
			return n, prev, &ChainError{Line: line, Reason: reason}
		}
		if last {
			break
		}
	}
	if len(pending) > 0 { // no record after it: nothing shows it is only a fragment
		return n, prev, &ChainError{Line: pending[0], Reason: pendingReason}
	}
	if len(torn) > 0 {
		return n, prev, &TornWriteError{Lines: torn}
	}
	return n, prev, nil
}

// isFragment reports whether line (without its newline) is what a write cut
// short leaves: the start of a record, '{' and then JSON that only runs out,
// perhaps in the middle of a UTF-8 character. Nothing else is: not a blank
// line, not a complete JSON value, not one a strict reader refuses for a
// duplicate key or invalid UTF-8 (which lenient readers take as a record).
func isFragment(line []byte) bool {
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	for cut := 0; cut < utf8.UTFMax && cut < len(line); cut++ {
		start := line[:len(line)-cut]
		if !utf8.Valid(start) {
			continue
		}
		_, err := jsonenc.DecodeStrict(start)
		return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
	}
	return false
}

// maxLineLen bounds a line VerifyJSONLines reads: whoever can write the log
// must not be able to exhaust the memory of the job that checks it. A
// record is far smaller, its arguments included.
const maxLineLen = 16 << 20

var errLineTooLong = fmt.Errorf("the line is longer than %d MiB", maxLineLen>>20)

// readLine is bufio.Reader.ReadBytes('\n') that stops at maxLineLen.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > maxLineLen {
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// verifyLine returns the line's chain value, or why it does not continue
// prev.
func (c chain) verifyLine(b []byte, last bool, prev string) (link, reason string) {
	if last { // ReadBytes found no newline: the write of this line was cut short
		return "", "the last line is incomplete (no newline)"
	}
	b = b[:len(b)-1]
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
