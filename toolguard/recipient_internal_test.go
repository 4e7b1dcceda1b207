package toolguard

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

func TestRecipientDestination(t *testing.T) {
	ok := []struct{ kind, in, want string }{
		{RecipientIBAN, "DE89 3704 0044 0532 0130 00", "DE89370400440532013000"},
		{RecipientIBAN, "gb82west12345698765432", "GB82WEST12345698765432"},
		{RecipientPhone, "+1 (555) 010-9999", "+15550109999"},
		{RecipientPhone, "+44 20 7946 0958", "+442079460958"},
		{RecipientChatChannel, "#General", "#general"},
		{RecipientChatChannel, "support-eu", "#support-eu"},
		{RecipientChatUser, "@Bob", "@bob"},
		{RecipientAccount, "acct-17", "acct-17"},
		{"vendor_id", "V-001", "V-001"},
	}
	for _, c := range ok {
		d, err := recipientDestination(c.kind, c.in)
		require.NoError(t, err, "%s %q", c.kind, c.in)
		require.Equal(t, authz.Destination{Kind: "recipient", Type: c.kind, Address: c.want}, d)
		again, err := recipientDestination(c.kind, c.want)
		require.NoError(t, err)
		require.Equal(t, d, again, "the canonical form is a fixed point")
	}
	bad := []struct{ kind, in string }{
		{RecipientIBAN, "DE89 3704 0044 0532 0130 01"}, // check digits
		{RecipientIBAN, "DE8937040044"},                // too short
		{RecipientIBAN, "D189370400440532013000"},      // country code
		{RecipientIBAN, "DE89-3704-0044-0532-0130-00"}, // only spaces separate
		{RecipientIBAN, "DE89\u00a03704004405320130 00"},
		{RecipientPhone, "555 010 9999"},      // no country code
		{RecipientPhone, "+1 555 CALL NOW"},   // letters
		{RecipientPhone, "+12"},               // too short
		{RecipientPhone, "+0044207946095"},    // a country code is not 0
		{RecipientPhone, "+1234567890123456"}, // 16 digits
		{RecipientChatChannel, "#"},
		{RecipientChatChannel, "#gen eral"},
		{RecipientChatUser, "@bob\u202e"},
		{RecipientAccount, ""},
		{RecipientAccount, " acct-17"},
		{RecipientAccount, "acct\x00-17"},
		{RecipientAccount, string(make([]byte, 300))},
	}
	for _, c := range bad {
		_, err := recipientDestination(c.kind, c.in)
		require.Error(t, err, "%s %q", c.kind, c.in)
	}
}

func TestRecipientArgValidation(t *testing.T) {
	require.NoError(t, RecipientArg("to", RecipientIBAN).validate())
	require.Error(t, RecipientArg("to", "IBAN").validate())
	require.Error(t, RecipientArg("to", "").validate())
	require.Error(t, RecipientArg("", RecipientIBAN).validate())
}

// Records show a recipient's kind and enough of it to tell it apart, not
// the whole account number.
func TestMaskedRecipient(t *testing.T) {
	require.Equal(t, "recipient:iban:DE89…00", describe(authz.Destination{Kind: "recipient", Type: "iban", Address: "DE89370400440532013000"}))
	require.Equal(t, "recipient:chat_channel:#general", describe(authz.Destination{Kind: "recipient", Type: "chat_channel", Address: "#general"}))
	require.Equal(t, "recipient:account:…", describe(authz.Destination{Kind: "recipient", Type: "account", Address: "a-1"}))
}

func TestAssumeScheme(t *testing.T) {
	d := URLArg("site").AssumeScheme("https")
	require.NoError(t, d.validate())
	for in, host := range map[string]string{
		"www.example.com/page":      "www.example.com",
		"http://docs.example.com/x": "docs.example.com",
		"Example.COM":               "example.com",
	} {
		dst, _, err := d.derive(in)
		require.NoError(t, err, in)
		require.Equal(t, host, dst.Host, in)
	}
	dst, _, err := d.derive("www.example.com")
	require.NoError(t, err)
	require.Equal(t, "https", dst.Scheme)
	for _, in := range []string{"javascript:alert(1)", "example.com:99999", "//evil.example@x", "ftp://files.example/"} {
		_, _, err := d.derive(in)
		require.Error(t, err, in)
	}
	_, _, err = URLArg("site").derive("www.example.com")
	require.Error(t, err, "without AssumeScheme a bare host is refused")
	require.Error(t, EmailArg("to").AssumeScheme("https").validate())
	require.Error(t, URLArg("u").AssumeScheme("ftp").validate())
}
