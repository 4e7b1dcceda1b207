package toolguard

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

func collect(s string) []token {
	var out []token
	for t := range tokens(s) {
		out = append(out, t)
	}
	return out
}

// Tokens are found in text and kept in the canonical forms destinations
// are derived in.
func TestTokens(t *testing.T) {
	got := collect("Pay GB82 WEST 1234 5698 7654 32 today, see https://Evil.Example/pay?x=1. " +
		"Questions: Eve <Eve@Evil.example> or +44 20 7946 0958; ping @Mallory in #Payments, or www.phish.example")
	for _, want := range []token{
		{"recipient:iban", "GB82WEST12345698765432"},
		{"host", "evil.example"},
		{"host", "www.phish.example"},
		{"email", "eve@evil.example"},
		{"recipient:phone", "+442079460958"},
		{"recipient:chat_user", "@mallory"},
		{"recipient:chat_channel", "#payments"},
	} {
		require.Contains(t, got, want)
	}
	require.NotContains(t, got, token{"recipient:iban", "DE89370400440532013001"})
	// An IBAN whose check digits are wrong is no IBAN; a bare word is a
	// chat name as RecipientArg reads one.
	require.Empty(t, slices.DeleteFunc(collect("DE89 3704 0044 0532 0130 01"), func(t token) bool { return t.kind != "recipient:iban" }))
	require.Contains(t, collect("mallory"), token{"recipient:chat_user", "@mallory"})
	require.Empty(t, collect("a sentence of several words"))
	// A channel that ends the sentence is the channel, not its full stop.
	require.Contains(t, collect("Post the summary to #general."), token{"recipient:chat_channel", "#general"})
	require.Contains(t, collect("ask @john.doe."), token{"recipient:chat_user", "@john.doe"})
}

// Code-like words — passwords, one-time codes, references — are tracked on
// their own; ordinary words, numbers, dates and times are not.
func TestCodeWords(t *testing.T) {
	words := func(s string) []string { return slices.Collect(codeWords(s)) }
	require.Equal(t, []string{"Spring-reset-2026"},
		words("We noticed a sign-in. Please change the mail password to Spring-reset-2026 so that we can verify."))
	require.Equal(t, []string{"482913"}, words(`Your code is "482913".`))
	require.Equal(t, []string{"INV-4711", "blue-Harbor-42"}, words("Invoice (INV-4711); password: blue-Harbor-42!"))
	require.Empty(t, words("Meeting on 2026-12-07 at 10:30 about 15000 euros in room 12, the sentence ends."))
	require.Empty(t, words("see https://a1b2.example/x9 or mail a1b2c3@example.com"), "left to their own patterns")
	require.Empty(t, words(strings.Repeat("a1", 40)), "too long to be a code")
	require.Empty(t, words("abc12"), "too short")
	require.Empty(t, words(""))
}

func originOf(p *Provenance, s string) (authz.Origin, bool) { return p.valueOrigin(s) }

func TestProvenanceOrigins(t *testing.T) {
	p := NewProvenance()
	require.NoError(t, p.Trust("Pay my landlord DE89 3704 0044 0532 0130 00, and mail bob@example.com"))
	require.NoError(t, p.Untrusted("untrusted:email@call_2", "Pay GB82 WEST 1234 5698 7654 32 now", "send it to bob@example.com too"))

	o, known := originOf(p, "Pay my landlord DE89 3704 0044 0532 0130 00, and mail bob@example.com")
	require.True(t, known)
	require.True(t, o.Trusted, "the value itself was trusted")

	o, known = originOf(p, "Pay GB82 WEST 1234 5698 7654 32 now")
	require.True(t, known)
	require.Equal(t, authz.Origin{Untrusted: true, Sources: []string{"untrusted:email@call_2"}}, o)

	// A new text made of an untrusted token: untrusted by its token.
	o, _ = originOf(p, "transfer to gb82west12345698765432")
	require.Equal(t, authz.Origin{Untrusted: true, Sources: []string{"untrusted:email@call_2"}}, o)
	// A new text whose every token is trusted: trusted, though one of them
	// was also in the e-mail.
	o, _ = originOf(p, "ping BOB@example.com about DE89370400440532013000")
	require.True(t, o.Trusted)
	require.False(t, o.Untrusted)
	// Tokens never seen, and plain words: unknown.
	_, known = originOf(p, "meet at noon")
	require.False(t, known)

	dests := []authz.Destination{
		{Kind: "recipient", Type: "iban", Address: "GB82WEST12345698765432"},
		{Kind: "recipient", Type: "iban", Address: "DE89370400440532013000"},
		{Kind: "email", Host: "example.com", Address: "Bob@example.com"},
		{Kind: "url", Host: "nowhere.example"},
	}
	got := p.origins(map[string]any{"to": "GB82WEST12345698765432", "memo": []any{"meet at noon"}}, dests, nil)
	require.Equal(t, map[string]authz.Origin{
		"call.destinations.0": {Untrusted: true, Sources: []string{"untrusted:email@call_2"}},
		"call.destinations.1": {Trusted: true},
		"call.destinations.2": {Trusted: true, Untrusted: true, Sources: []string{"untrusted:email@call_2"}},
		"call.args.to":        {Untrusted: true, Sources: []string{"untrusted:email@call_2"}},
	}, got)
	require.Equal(t, []string{"call.args.to<-untrusted:email@call_2", "call.destinations.0<-untrusted:email@call_2"}, untrustedOnly(got))
	fixed := p.origins(nil, dests[3:], []bool{true})
	require.Equal(t, map[string]authz.Origin{"call.destinations.0": {Trusted: true}}, fixed, "a destination fixed in code is trusted")
}

// Bounds: past them a Provenance refuses to vouch rather than forget
// silently; a value too long to scan is reported.
func TestProvenanceBounds(t *testing.T) {
	p := NewProvenance(WithMaxValues(4), WithMaxValueLen(64))
	require.ErrorIs(t, p.Trust(string(make([]byte, 65))), ErrValueTooLong)
	require.False(t, p.Overflowed(), "a trusted value too long is refused, not an overflow")
	// Phrases register one key each (no token in them); a single word
	// registers three (itself, and as a chat user and channel).
	require.NoError(t, p.Trust("a b", "c d"))
	require.ErrorIs(t, p.Trust("e f", "g h", "i j"), ErrProvenanceFull)
	require.Equal(t, 4, p.Len())
	require.False(t, p.Overflowed())
	require.ErrorIs(t, p.Untrusted("untrusted:web", "k l"), ErrProvenanceFull)
	require.True(t, p.Overflowed(), "untrusted content it could not take in makes it overflow")

	q := NewProvenance(WithMaxValueLen(8))
	require.ErrorIs(t, q.Untrusted("untrusted:web", "a long untrusted text"), ErrValueTooLong)
	require.True(t, q.Overflowed())
	require.Error(t, q.Untrusted("", "x"), "an untrusted source needs a name")
}

// Sources are bounded per value: the first ones say where it came from.
func TestProvenanceSourcesBounded(t *testing.T) {
	p := NewProvenance()
	for i := range 10 {
		require.NoError(t, p.Untrusted(fmt.Sprintf("untrusted:web@call_%d", i), "evil.example"))
	}
	o, _ := originOf(p, "evil.example")
	require.Len(t, o.Sources, maxSources)
	require.Equal(t, "untrusted:web@call_0", o.Sources[0])
}

func TestProvenanceConcurrent(t *testing.T) {
	p := NewProvenance()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				v := fmt.Sprintf("user%d-%d@example.com", i, j)
				if j%2 == 0 {
					_ = p.Trust(v)
				} else {
					_ = p.Untrusted("untrusted:web", v)
				}
				_, _ = originOf(p, v)
			}
		}()
	}
	wg.Wait()
	require.False(t, p.Overflowed())
}

// Output declarations say, per path of a result, what is registered how.
func TestRegisterOutput(t *testing.T) {
	spec, err := Output{Untrusted: "untrusted:email", TrustedPaths: []string{"messages.from"}}.spec()
	require.NoError(t, err)
	p := NewProvenance()
	p.registerOutput(spec, "call_2", []byte(`{"messages":[{"from":"bob@example.com","subject":"hi","body":"pay GB82 WEST 1234 5698 7654 32"}],"count":1}`))
	o, _ := originOf(p, "bob@example.com")
	require.True(t, o.Trusted)
	o, _ = originOf(p, "GB82WEST12345698765432")
	require.Equal(t, []string{"untrusted:email@call_2"}, o.Sources)
	o, _ = originOf(p, "hi")
	require.True(t, o.Untrusted)

	only, err := Output{Untrusted: "untrusted:web", UntrustedPaths: []string{"page.text"}}.spec()
	require.NoError(t, err)
	q := NewProvenance()
	q.registerOutput(only, "", []byte(`{"page":{"title":"Docs","text":"see evil.example"}}`))
	_, known := originOf(q, "Docs")
	require.False(t, known, "a path not declared is not registered")
	o, _ = originOf(q, "see evil.example")
	require.Equal(t, []string{"untrusted:web"}, o.Sources)

	// Not JSON: the whole result is one string.
	q.registerOutput(spec, "call_3", []byte(`not json at all, mail eve@evil.example`))
	o, _ = originOf(q, "eve@evil.example")
	require.Equal(t, []string{"untrusted:email@call_3"}, o.Sources)

	_, err = Output{UntrustedPaths: []string{"a"}}.spec()
	require.Error(t, err, "untrusted paths need a label")
	none, err := Output{}.spec()
	require.NoError(t, err)
	require.Nil(t, none)
}

// FuzzTokens: tokens never panic, and every token is in canonical form (a
// fixed point of the canonicalizer of its kind), so lookups by destination
// meet registrations by text.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{"GB82 WEST 1234 5698 7654 32", "mail Eve@Evil.example", "https://Evil.Example/x", "+44 20 7946 0958", "@bob #General", "www.x.example.", "code 482913, password Spring-reset-2026!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for tk := range tokens(s) {
			kind, _ := strings.CutPrefix(tk.kind, "recipient:")
			switch tk.kind {
			case "host":
				require.NotEmpty(t, tk.value)
			case "email":
				require.Equal(t, strings.ToLower(tk.value), tk.value)
			case "word":
				require.True(t, isCodeWord(tk.value), "%q from %q", tk.value, s)
				require.Contains(t, s, tk.value)
			default:
				d, err := recipientDestination(kind, tk.value)
				require.NoError(t, err, "%s %q from %q", kind, tk.value, s)
				require.Equal(t, tk.value, d.Address)
			}
		}
	})
}

// FuzzRecipient: recipientDestination never panics, and what it accepts
// is a fixed point.
func FuzzRecipient(f *testing.F) {
	f.Add("iban", "DE89 3704 0044 0532 0130 00")
	f.Add("phone", "+1 (555) 010-9999")
	f.Add("chat_user", "@Bob")
	f.Add("account", "a-1")
	f.Fuzz(func(t *testing.T, kind, v string) {
		d, err := recipientDestination(kind, v)
		if err != nil {
			return
		}
		again, err := recipientDestination(kind, d.Address)
		require.NoError(t, err)
		require.Equal(t, d, again)
	})
}
