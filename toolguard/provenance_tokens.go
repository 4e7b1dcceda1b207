package toolguard

import (
	"iter"
	"regexp"
	"strings"
	"unicode"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// token is a destination-like value inside a string, in the canonical form
// the guard derives destinations in, under the kind a destination of it is
// looked up by (destinationKey).
type token struct{ kind, value string }

// Candidates are found by pattern and kept only when they canonicalize as
// the destinations they look like: the patterns may over-match, never
// decide.
var (
	urlPattern   = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'\x60(){}\[\]]+|\bwww\.[^\s<>"'\x60(){}\[\]]+`)
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	ibanPattern  = regexp.MustCompile(`\b[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}\b`)
	phonePattern = regexp.MustCompile(`\+[0-9][0-9 ().\-]{5,22}[0-9]`)
	chatPattern  = regexp.MustCompile(`[@#][\p{L}\p{N}._\-]{1,80}`)
)

// tokens yields the destination-like values in s. A short string that is
// itself a chat name, without its sigil, is yielded as both a user and a
// channel, as RecipientArg reads one.
func tokens(s string) iter.Seq[token] {
	return func(yield func(token) bool) {
		emit := func(kind, v string) bool { return yield(token{kind, v}) }
		if strings.Contains(s, "://") || strings.Contains(s, "www.") {
			for _, m := range urlPattern.FindAllString(s, -1) {
				if !strings.Contains(m, "://") {
					m = "https://" + m
				}
				m = strings.TrimRight(m, ".,;:!?")
				if u, err := egress.CanonicalURL(m); err == nil && !emit("host", u.Host) {
					return
				}
			}
		}
		if strings.ContainsRune(s, '@') {
			for _, m := range emailPattern.FindAllString(s, -1) {
				if d, err := canonicalEmail(m); err == nil && !emit("email", strings.ToLower(d.Address)) {
					return
				}
			}
		}
		for _, m := range ibanPattern.FindAllString(s, -1) {
			if v, ok := ibanPrefix(m); ok && !emit("recipient:"+RecipientIBAN, v) {
				return
			}
		}
		if strings.ContainsRune(s, '+') {
			for _, m := range phonePattern.FindAllString(s, -1) {
				if v, err := canonicalPhone(m); err == nil && !emit("recipient:"+RecipientPhone, v) {
					return
				}
			}
		}
		if strings.ContainsAny(s, "@#") {
			for _, loc := range chatPattern.FindAllStringIndex(s, -1) {
				if loc[0] > 0 && isWordByte(s[loc[0]-1]) {
					continue // the '@' of an e-mail address, not a mention
				}
				// A name ends a sentence ("post it to #general.") more
				// often than a channel's name ends in a dot.
				m := strings.TrimRight(s[loc[0]:loc[1]], ".")
				kind := RecipientChatUser
				if m[0] == '#' {
					kind = RecipientChatChannel
				}
				if v, err := chatName(m, m[0]); err == nil && !emit("recipient:"+kind, v) {
					return
				}
			}
		}
		if len(s) <= 80 {
			if v, err := chatName(s, '@'); err == nil && !emit("recipient:"+RecipientChatUser, v) {
				return
			}
			if v, err := chatName(s, '#'); err == nil && !emit("recipient:"+RecipientChatChannel, v) {
				return
			}
		}
		for w := range codeWords(s) {
			if !emit("word", w) {
				return
			}
		}
	}
}

// Bounds of a code word (codeWords).
const (
	minCodeWord = 6
	maxCodeWord = 64
)

// codeWords yields the words of s that look chosen rather than written: a
// password, a one-time code, a reference number. They are what an
// injection dictates ("set the password to Spring-reset-2026", "forward
// the code 482913") and what no destination pattern finds, so they are
// tracked on their own: at least minCodeWord characters mixing letters and
// digits, or six to eight digits. Ordinary words, numbers, dates and
// times are not tracked. A word is cut at spaces, quotes and brackets,
// without the punctuation that ends a sentence around it; URLs and
// addresses are left to their own patterns.
func codeWords(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			i := strings.IndexFunc(s, isCodeByte)
			if i < 0 {
				return
			}
			s = s[i:]
			j := strings.IndexFunc(s, func(r rune) bool { return !isCodeByte(r) })
			if j < 0 {
				j = len(s)
			}
			w := strings.TrimLeft(strings.TrimRight(s[:j], ".,;:!?"), ".,;:!?")
			s = s[j:]
			if isCodeWord(w) && !yield(w) {
				return
			}
		}
	}
}

// isCodeByte: the characters a code word is made of, everything printable
// but spaces, quotes, brackets and separators of lists.
func isCodeByte(r rune) bool {
	if r <= ' ' || r == 0x7f || unicode.IsSpace(r) {
		return false
	}
	return !strings.ContainsRune("\"'\x60()<>[]{},;|", r)
}

func isCodeWord(w string) bool {
	if len(w) < minCodeWord || len(w) > maxCodeWord || strings.Contains(w, "://") || strings.ContainsRune(w, '@') {
		return false
	}
	letters, digits := 0, 0
	for _, r := range w {
		switch {
		case '0' <= r && r <= '9':
			digits++
		case unicode.IsLetter(r):
			letters++
		}
	}
	if letters == 0 {
		return digits == len(w) && len(w) <= 8 // a one-time code, not an amount or a date
	}
	return digits > 0
}

// destinationKey is how a destination is looked up: a URL by its host (who
// controls it), an e-mail by its address, a recipient by its kind and
// canonical form. Paths and argv are judged otherwise and have none.
func destinationKey(d authz.Destination) (kind, value string, ok bool) {
	switch d.Kind {
	case "url":
		return "host", d.Host, true
	case "email":
		return "email", strings.ToLower(d.Address), true
	case "recipient":
		switch d.Type {
		case RecipientIBAN, RecipientPhone, RecipientChatUser, RecipientChatChannel:
			return "recipient:" + d.Type, d.Address, true
		}
		return "v", d.Address, true // kinds without a standard form: as written
	}
	return "", "", false
}

// ibanPrefix is the longest IBAN the candidate m starts with: the pattern
// also takes in the words after an IBAN printed in groups ("GB82 WEST …
// 32 today"), so whole trailing groups are dropped until the check digits
// hold, or nothing is left.
func ibanPrefix(m string) (string, bool) {
	for {
		if v, err := canonicalIBAN(m); err == nil {
			return v, true
		}
		i := strings.LastIndexByte(m, ' ')
		if i < 0 {
			return "", false
		}
		m = m[:i]
	}
}

func isWordByte(c byte) bool {
	return c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == '+'
}
