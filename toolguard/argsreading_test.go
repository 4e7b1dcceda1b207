package toolguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// TestArgumentsHaveOneReading: arguments a tool decoding with encoding/json
// would read differently from the guard are refused before the policy, and
// a declared destination the walk cannot find is refused, never taken for
// "no destination". Each was allowed before, with the tool acting on a
// value the policy never saw.
func TestArgumentsHaveOneReading(t *testing.T) {
	root := t.TempDir()
	cases := []struct {
		name  string
		dests []toolguard.Dest
		args  string
		code  string
		says  string // the reason names the field
	}{
		{"upper-case key of a URL field", []toolguard.Dest{toolguard.URLArg("url")}, `{"URL":"http://evil.example/"}`,
			toolguard.CodeBadArgs, `"URL" is read as "url"`},
		{"upper-case key of an email field", []toolguard.Dest{toolguard.EmailArg("to")}, `{"TO":"eve@evil.example"}`,
			toolguard.CodeBadArgs, `"TO" is read as "to"`},
		{"long s folds to s", []toolguard.Dest{toolguard.EmailArg("address")}, `{"address":"bob@docs.example.com","addreſs":"eve@evil.example"}`,
			toolguard.CodeBadArgs, `"addreſs" is read as "address"`},
		{"Kelvin sign folds to k", []toolguard.Dest{toolguard.URLArg("link")}, `{"link":"https://docs.example.com/","lin\u212a":"http://evil.example/"}`,
			toolguard.CodeBadArgs, `is read as "link"`},
		{"nested key folds", []toolguard.Dest{toolguard.EmailArg("msg.to")}, `{"msg":{"To":"eve@evil.example"}}`,
			toolguard.CodeBadArgs, `"To" is read as "to"`},
		{"two unknown keys fold together", nil, `{"mode":"a","MODE":"b"}`,
			toolguard.CodeBadArgs, `"MODE" and "mode"`},
		{"a path across an array", []toolguard.Dest{toolguard.URLArg("links.url")}, `{"links":[{"url":"http://evil.example/c"}]}`,
			"destination_not_allowed", `"evil.example"`},
		{"a present field of the wrong shape", []toolguard.Dest{toolguard.EmailArg("msg.to")}, `{"msg":"eve@evil.example"}`,
			toolguard.CodeBadDestination, "msg is a string, not an object"},
		{"a misnamed destination", []toolguard.Dest{toolguard.PathArg("file", root)}, `{"path":"/etc/passwd"}`,
			toolguard.CodeBadDestination, "argument file is missing"},
		{"null is absent", []toolguard.Dest{toolguard.URLArg("url")}, `{"url":null}`,
			toolguard.CodeBadDestination, "argument url is missing"},
		{"null in an array of URLs", []toolguard.Dest{toolguard.URLArg("urls")}, `{"urls":["https://docs.example.com/",null]}`,
			toolguard.CodeBadDestination, "want strings, got null"},
		{"an array where [] says so, not an object", []toolguard.Dest{toolguard.URLArg("links[].url")}, `{"links":{"url":"https://docs.example.com/"}}`,
			toolguard.CodeBadDestination, "links[] is an object, not an array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			fn, ran := guardedProbe(t, f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read, Destinations: c.dests})
			_, err := fn(context.Background(), json.RawMessage(c.args))
			d := requireDenied(t, err, c.code)
			require.Contains(t, d.Reason, c.says)
			require.Zero(t, ran.Load(), "the tool ran")
			rec := f.sink.last(t)
			require.Equal(t, c.code, rec.Code, "the denial is on record")
			require.NotContains(t, rec.Error, "eve@", "a reason never quotes a value")
		})
	}
}

// TestOptionalDestinationMayBeAbsent: only an absent optional field yields
// no destination; present, it is judged like any other.
func TestOptionalDestinationMayBeAbsent(t *testing.T) {
	f := newFixture(t)
	tool := toolguard.Tool{Name: "fetch", Effect: toolguard.Read,
		Destinations: []toolguard.Dest{toolguard.URLArg("url"), toolguard.URLArg("mirror").Optional()}}
	fn, ran := guardedProbe(t, f.guard, tool)
	_, err := fn(context.Background(), json.RawMessage(`{"url":"https://docs.example.com/"}`))
	require.NoError(t, err)
	_, err = fn(context.Background(), json.RawMessage(`{"url":"https://docs.example.com/","mirror":null}`))
	require.NoError(t, err)
	_, err = fn(context.Background(), json.RawMessage(`{"url":"https://docs.example.com/","mirror":"http://evil.example/"}`))
	requireDenied(t, err, "destination_not_allowed")
	require.Equal(t, int32(2), ran.Load())
}

type linkArgs struct {
	Links []struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"links"`
}

// TestTypedWrapPathCrossesArrays: a typed tool's destination inside a slice
// of structs is derived from every element.
func TestTypedWrapPathCrossesArrays(t *testing.T) {
	f := newFixture(t)
	var got []string
	fn, err := toolguard.Wrap(f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.URLArg("links.url")}},
		func(_ context.Context, a linkArgs) (int, error) {
			for _, l := range a.Links {
				got = append(got, l.URL)
			}
			return len(a.Links), nil
		})
	require.NoError(t, err)
	var a linkArgs
	require.NoError(t, json.Unmarshal([]byte(`{"links":[{"url":"https://docs.example.com/a"},{"url":"https://example.com/b"}]}`), &a))
	_, err = fn(context.Background(), a)
	require.NoError(t, err)
	require.Equal(t, []string{"https://docs.example.com/a", "https://example.com/b"}, got)
	require.Equal(t, []string{"https://docs.example.com:443", "https://example.com:443"}, f.sink.last(t).Destinations)

	require.NoError(t, json.Unmarshal([]byte(`{"links":[{"url":"https://docs.example.com/a"},{"url":"http://evil.example/c"}]}`), &a))
	_, err = fn(context.Background(), a)
	requireDenied(t, err, "destination_not_allowed")
	require.Len(t, got, 2, "the tool did not run again")
}

type sendArgs struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Retries int    `json:"retries"`
	Meta    any    `json:"meta"`
	Headers map[string]string
}

// TestWrapChecksDeclaredPathsAgainstTheType: a declared path the argument
// type does not have is an error when the tool is wrapped, naming the
// field and what the type has instead.
func TestWrapChecksDeclaredPathsAgainstTheType(t *testing.T) {
	f := newFixture(t)
	fn := func(context.Context, sendArgs) (int, error) { return 0, nil }
	for _, c := range []struct {
		name string
		tool toolguard.Tool
		err  string
	}{
		{"misnamed destination", toolguard.Tool{Destinations: []toolguard.Dest{toolguard.EmailArg("recipient")}},
			`no field "recipient" (there are: Headers, body, meta, retries, subject, to)`},
		{"a case that differs", toolguard.Tool{Destinations: []toolguard.Dest{toolguard.EmailArg("TO")}},
			`did you mean "to"?`},
		{"a number is no destination", toolguard.Tool{Destinations: []toolguard.Dest{toolguard.URLArg("retries")}},
			`argument retries: a number, not a string or an array of strings`},
		{"a path through a string", toolguard.Tool{Destinations: []toolguard.Dest{toolguard.URLArg("subject.url")}},
			`argument subject: no field "url" in a string`},
		{"[] on a string", toolguard.Tool{Destinations: []toolguard.Dest{toolguard.EmailArg("to[]")}},
			`argument to[]: a string, not an array`},
		{"misnamed redaction", toolguard.Tool{Redact: []string{"password"}},
			`redact password: the arguments: no field "password"`},
		{"bad path syntax", toolguard.Tool{Destinations: []toolguard.Dest{toolguard.URLArg("links..url")}},
			`empty segment`},
		{"a wildcard is no path", toolguard.Tool{Redact: []string{"headers.*"}},
			`may not contain '*'`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.tool.Name, c.tool.Effect = "send", toolguard.Write
			w, err := toolguard.Wrap(f.guard, c.tool, fn)
			require.ErrorContains(t, err, c.err)
			require.Nil(t, w)
		})
	}
	// What the type leaves open (an interface, a map) cannot be checked
	// here; the call's own arguments are.
	for _, tool := range []toolguard.Tool{
		{Destinations: []toolguard.Dest{toolguard.URLArg("meta.links.url")}},
		{Destinations: []toolguard.Dest{toolguard.URLArg("Headers.referer")}, Redact: []string{"Headers.authorization", "body"}},
	} {
		tool.Name, tool.Effect = "send", toolguard.Write
		_, err := toolguard.Wrap(f.guard, tool, fn)
		require.NoError(t, err)
	}
}

const sendSchema = `{
  "type": "object",
  "properties": {
    "to":      {"type": "string"},
    "cc":      {"type": "array", "items": {"$ref": "#/$defs/address"}},
    "subject": {"type": "string", "maxLength": 40},
    "body":    {"type": "string"},
    "retries": {"type": "integer", "minimum": 0, "maximum": 3}
  },
  "required": ["to", "subject"],
  "additionalProperties": false,
  "$defs": {"address": {"type": "string"}}
}`

// TestWrapJSONWithInputSchema: the schema MCP tools declare checks the
// declared paths at wrap time and every call's arguments before the
// policy; its property names count as fields for the one-reading rule.
func TestWrapJSONWithInputSchema(t *testing.T) {
	f := newFixture(t, toolguard.WithApprover(approveAll))
	tool := toolguard.Tool{Name: "send_email", Effect: toolguard.Write, InputSchema: json.RawMessage(sendSchema),
		Destinations: []toolguard.Dest{toolguard.EmailArg("to"), toolguard.EmailArg("cc").Optional()}}
	fn, ran := guardedProbe(t, f.guard, tool)

	_, err := fn(context.Background(), json.RawMessage(`{"to":"bob@docs.example.com","cc":["carol@example.com"],"subject":"hi"}`))
	require.NoError(t, err)
	for args, says := range map[string]string{
		`{"to":"bob@docs.example.com"}`:                                                                 "(required)",
		`{"to":"bob@docs.example.com","subject":"hi","retries":9}`:                                      "at /properties/retries (maximum)",
		`{"to":"bob@docs.example.com","subject":"hi","bcc":"eve@evil.example"}`:                         "(additionalProperties)",
		`{"to":"bob@docs.example.com","subject":"hi","Body":"x"}`:                                       `"Body" is read as "body"`,
		`{"to":"bob@docs.example.com","subject":"a secret subject that is far too long for the limit"}`: "at /properties/subject (maxLength)",
		`{"to":"bob@docs.example.com","subject":"hi","retries":1e400}`:                                  "out of range",
	} {
		_, err := fn(context.Background(), json.RawMessage(args))
		require.Error(t, err, args)
		d := requireDenied(t, err, toolguard.CodeBadArgs)
		require.Contains(t, d.Reason, says, args)
		require.NotContains(t, d.Reason, "secret", "a reason never quotes a value")
	}
	require.Equal(t, int32(1), ran.Load())

	var se interface{ Unwrap() error }
	_, err = fn(context.Background(), json.RawMessage(`{"to":"bob@docs.example.com","subject":"hi","retries":9}`))
	require.True(t, errors.As(err, &se), "the validator's full error stays reachable")

	for schema, says := range map[string]string{
		`{"type":"object","properties":{"recipient":{"type":"string"}}}`:             `no field "to" (there are: recipient)`,
		`{"type":"object","properties":{"to":{"type":"integer"}}}`:                   "argument to: a number",
		`{"type":"object","properties":{"to":{"$ref":"https://schemas.example/x"}}}`: "input schema",
		`{"$schema":"http://json-schema.org/draft-04/schema#"}`:                      "not draft-07 or draft 2020-12",
		`[1,2]`: "not a JSON Schema",
	} {
		bad := toolguard.Tool{Name: "send_email", Effect: toolguard.Write, InputSchema: json.RawMessage(schema),
			Destinations: []toolguard.Dest{toolguard.EmailArg("to")}}
		_, err := toolguard.WrapJSON(f.guard, bad, func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
		require.ErrorContains(t, err, says, schema)
	}
}

// TestToolRedactHidesAndGuardsItsField: a tool's own redaction paths are
// hidden in every record whatever the policy says, and a key that would be
// read as one of them is refused, so the secret cannot slip into the record
// under another spelling.
func TestToolRedactHidesAndGuardsItsField(t *testing.T) {
	f := newFixture(t, toolguard.WithRecordArgs(nil))
	tool := toolguard.Tool{Name: "fetch", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.URLArg("url")}, Redact: []string{"password"}}
	fn, ran := guardedProbe(t, f.guard, tool)
	_, err := fn(context.Background(), json.RawMessage(`{"url":"https://docs.example.com/","password":"hunter2"}`))
	require.NoError(t, err)
	rec := f.sink.last(t)
	require.Equal(t, "[redacted]", rec.Args["password"])
	require.Equal(t, "https://docs.example.com/", rec.Args["url"])

	_, err = fn(context.Background(), json.RawMessage(`{"url":"https://docs.example.com/","Password":"hunter2"}`))
	requireDenied(t, err, toolguard.CodeBadArgs)
	require.Equal(t, int32(1), ran.Load())
	b, err := json.Marshal(f.sink.all())
	require.NoError(t, err)
	require.NotContains(t, string(b), "hunter2")
}

// TestFixedURLIsJudgedAndGranted: a destination fixed in code is judged by
// the policy like one found in the arguments, and the egress grant covers it.
func TestFixedURLIsJudgedAndGranted(t *testing.T) {
	f := newFixture(t)
	var hosts []string
	fixed := func(raw string) (func(context.Context, DocArgs) (string, error), error) {
		return toolguard.Wrap(f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.FixedURL(raw)}},
			func(ctx context.Context, _ DocArgs) (string, error) {
				hosts, _ = egress.AllowedHosts(ctx)
				return "", nil
			})
	}
	fn, err := fixed("https://Docs.Example.com./v1/forecast")
	require.NoError(t, err)
	_, err = fn(context.Background(), DocArgs{})
	require.NoError(t, err)
	require.Equal(t, []string{"docs.example.com"}, hosts)
	rec := f.sink.last(t)
	require.Equal(t, []string{"https://docs.example.com:443"}, rec.Destinations)
	require.Equal(t, "https://docs.example.com", rec.CredentialAudience)

	fn, err = fixed("https://api.weather.example/v1")
	require.NoError(t, err)
	_, err = fn(context.Background(), DocArgs{})
	requireDenied(t, err, "destination_not_allowed")

	_, err = fixed("ftp://files.example/")
	require.ErrorContains(t, err, "fixed URL")
}

// Arguments of a typed tool whose type has fields the path helpers cannot
// see into are still judged at call time.
func TestWrapJSONRedactAndDestUnderUnknownShape(t *testing.T) {
	f := newFixture(t)
	fn, ran := guardedProbe(t, f.guard, toolguard.Tool{Name: "read_doc", Effect: toolguard.Read,
		Destinations: []toolguard.Dest{toolguard.PathArg("file.path", filepath.Join(t.TempDir()))}})
	_, err := fn(context.Background(), json.RawMessage(`{"file":{"Path":"/etc/passwd","path":"notes.txt"}}`))
	d := requireDenied(t, err, toolguard.CodeBadArgs)
	require.True(t, strings.Contains(d.Reason, `"Path" is read as "path"`), d.Reason)
	require.Zero(t, ran.Load())
}
