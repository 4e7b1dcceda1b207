package toolguard

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ztagent/ztagent/authz"
)

// Recipient kinds with a canonical form. Other kinds (matching
// [a-z][a-z0-9_]{0,31}) are compared as written.
const (
	RecipientIBAN        = "iban"         // ISO 13616: spaces removed, upper case, mod-97 checked
	RecipientPhone       = "phone"        // E.164: "+" and digits
	RecipientChatChannel = "chat_channel" // "#name", lower case
	RecipientChatUser    = "chat_user"    // "@name", lower case
	RecipientAccount     = "account"      // an account id, as written
)

// RecipientArg declares that the argument field names recipients that are
// not URLs or e-mail addresses: a bank account (RecipientIBAN), a phone
// number (RecipientPhone), a chat channel or user, an account id, or a
// kind of your own. Each becomes a destination of kind "recipient" with its
// type and canonical form, which the default policy allows only when the
// agent's data lists it (data.agents[id].recipients[kind]). A value that is
// not a valid recipient of its kind (an IBAN whose check digits are wrong, a
// phone number not in international form) is denied with
// CodeBadDestination.
func RecipientArg(field, kind string) Dest {
	d := newDest("recipient", field, "")
	d.recipient = kind
	if !recipientKind.MatchString(kind) {
		d.err = fmt.Errorf("recipient kind %q: want [a-z][a-z0-9_]{0,31}", kind)
	}
	return d
}

var recipientKind = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// maxRecipientLen bounds a recipient as written; no identifier of a
// person or an account is longer.
const maxRecipientLen = 256

// recipientDestination canonicalizes v as a recipient of kind.
func recipientDestination(kind, v string) (authz.Destination, error) {
	if len(v) > maxRecipientLen {
		return authz.Destination{}, fmt.Errorf("%s recipient is longer than %d bytes", kind, maxRecipientLen)
	}
	if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return authz.Destination{}, fmt.Errorf("%s recipient has invalid UTF-8 or control characters", kind)
	}
	var canon string
	var err error
	switch kind {
	case RecipientIBAN:
		canon, err = canonicalIBAN(v)
	case RecipientPhone:
		canon, err = canonicalPhone(v)
	case RecipientChatChannel:
		canon, err = chatName(v, '#')
	case RecipientChatUser:
		canon, err = chatName(v, '@')
	default:
		// No standard form: compared as written, so what could be read two
		// ways (white space at either end, which a tool may trim) is refused.
		if v == "" || strings.TrimSpace(v) != v {
			err = errors.New("empty, or white space at either end")
		}
		canon = v
	}
	if err != nil {
		return authz.Destination{}, fmt.Errorf("not a valid %s recipient: %w", kind, err)
	}
	return authz.Destination{Kind: "recipient", Type: kind, Address: canon}, nil
}

// canonicalIBAN is the electronic form of an IBAN (ISO 13616): spaces, as
// it is printed in groups of four, removed; letters upper case; a country
// code, two check digits and 11 to 30 letters and digits; and the mod-97
// check of ISO 7064 equal to 1, so a mistyped or made-up number is refused
// rather than judged.
func canonicalIBAN(v string) (string, error) {
	s := strings.ToUpper(strings.ReplaceAll(v, " ", ""))
	if len(s) < 15 || len(s) > 34 {
		return "", errors.New("an IBAN has 15 to 34 characters")
	}
	for i, c := range s {
		switch {
		case i < 2 && 'A' <= c && c <= 'Z', i >= 2 && i < 4 && '0' <= c && c <= '9':
		case i >= 4 && ('A' <= c && c <= 'Z' || '0' <= c && c <= '9'):
		default:
			return "", errors.New("an IBAN is a country code, two check digits and letters and digits")
		}
	}
	// Move the first four characters to the end, letters to numbers
	// (A=10 … Z=35), and the number mod 97 must be 1.
	var digits strings.Builder
	for _, c := range s[4:] + s[:4] {
		if c >= 'A' {
			fmt.Fprintf(&digits, "%d", c-'A'+10)
		} else {
			digits.WriteRune(c)
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	if !ok || new(big.Int).Mod(n, big.NewInt(97)).Int64() != 1 {
		return "", errors.New("the IBAN's check digits are wrong")
	}
	return s, nil
}

// canonicalPhone is the E.164 form of an international number: "+" and 7
// to 15 digits, the usual separators (space, '-', '.', parentheses)
// removed. A number without its country code (no leading '+') is refused:
// which country it is in cannot be guessed.
func canonicalPhone(v string) (string, error) {
	rest, ok := strings.CutPrefix(strings.TrimLeft(v, " "), "+")
	if !ok {
		return "", errors.New("a phone number must be in international form, +<country code><number>")
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, c := range rest {
		switch {
		case '0' <= c && c <= '9':
			b.WriteRune(c)
		case strings.ContainsRune(" -.()", c):
		default:
			return "", fmt.Errorf("a phone number has only digits and separators, not %q", c)
		}
	}
	if n := b.Len() - 1; n < 7 || n > 15 {
		return "", errors.New("an E.164 number has 7 to 15 digits")
	}
	if b.String()[1] == '0' {
		return "", errors.New("a country code does not start with 0")
	}
	return b.String(), nil
}

// chatName is a channel or user name as chat services compare them:
// lower case, its sigil (one leading '#' or '@') in front, and letters,
// digits, '.', '_' and '-' only.
func chatName(v string, sigil byte) (string, error) {
	name := strings.ToLower(strings.TrimPrefix(v, string(sigil)))
	if name == "" || len(name) > 80 {
		return "", errors.New("a name of 1 to 80 characters")
	}
	for _, c := range name {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '.' || c == '_' || c == '-') {
			return "", fmt.Errorf("%q is not allowed in a name", c)
		}
	}
	return string(sigil) + name, nil
}

// maskedRecipient shows a recipient in records and spans without giving
// it away: its type, the first four and last two characters.
func maskedRecipient(d authz.Destination) string {
	a := d.Address
	if d.Type == RecipientChatChannel {
		return "recipient:" + d.Type + ":" + a // a channel is no one's identifier
	}
	if utf8.RuneCountInString(a) <= 8 {
		return "recipient:" + d.Type + ":…"
	}
	r := []rune(a)
	return "recipient:" + d.Type + ":" + string(r[:4]) + "…" + string(r[len(r)-2:])
}
