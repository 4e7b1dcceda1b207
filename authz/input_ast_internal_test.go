package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/require"
)

func sampleInputs() []*Input {
	exp := time.Date(2026, 12, 1, 0, 0, 0, 123, time.FixedZone("x", 3600))
	return []*Input{
		{},
		{
			Subject:   Subject{SPIFFEID: "spiffe://example.org/agent/a", TrustDomain: "example.org"},
			Principal: Principal{User: "alice@example.com", Chain: []string{"user:alice", "spiffe://example.org/agent/a"}},
			Task:      Task{ID: "t-1", Purpose: "p\u00e9 \"quoted\"", Scopes: []string{"a", "b"}, ExpiresAt: &exp, CallsUsed: 3},
			Tool:      Tool{Name: "send_email", Effect: "write", Risk: "high"},
			Call: Call{ID: "call_7", Args: json.RawMessage(`{"to":"bob@example.com","n":1.50,"deep":{"a":[1,null,true]}}`), ArgsDigest: "sha256:ab",
				Destinations: []Destination{{Kind: "url", Scheme: "https", Host: "h", Port: 443, Path: "/p"}, {Kind: "email", Host: "example.com", Address: "b@example.com"}, {Kind: "argv", Flagged: true}, {Kind: "argv"}, {Kind: "recipient", Type: "iban", Address: "DE89370400440532013000"}}},
			Context: Context{ConversationID: "c-1", Taint: []string{"untrusted:web"}},
			Time:    time.Date(2026, 11, 30, 12, 0, 0, 5, time.UTC),
		},
		{Call: Call{Args: json.RawMessage(`null`)}},
		{
			Context:    Context{ConversationID: "c-2", Taint: []string{"untrusted:email"}, TracksProvenance: true, ProvenanceOverflow: true},
			Provenance: map[string]Origin{"call.args.to": {Untrusted: true, Sources: []string{"untrusted:email@call_3"}}, "call.destinations.0": {Trusted: true}},
			Usage: &Usage{
				Agent: map[string]ToolUsage{"send_money": {Calls: 2, Sum: map[string]float64{"amount": 150.5}, Destinations: 1}},
				Task:  map[string]ToolUsage{"send_money": {Calls: 1e21}},
			},
		},
		{Usage: &Usage{}},
		{Peer: &Peer{}},
		{Peer: &Peer{ID: "spiffe://example.org/agent/planner", Chain: []string{"user:alice"}, Taint: []string{"untrusted:web"}}},
		{Call: Call{Args: json.RawMessage(`[1,"2",{"x":{}}]`)}, Context: Context{Taint: []string{}}},
	}
}

// The direct conversion must give exactly the value the JSON encoding of
// the Input gives: that is the document policies are written against.
func TestInputValueMatchesJSON(t *testing.T) {
	e := &Engine{}
	for i, in := range sampleInputs() {
		want, err := in.astValue()
		require.NoError(t, err)
		for range 2 { // second time from the term cache
			got, err := e.inputValue(in)
			require.NoError(t, err)
			require.Equal(t, 0, want.Compare(got), "input %d:\nwant %v\ngot  %v", i, want, got)
		}
	}
}

func TestInputValueBadArgs(t *testing.T) {
	e := &Engine{}
	_, err := e.inputValue(&Input{Call: Call{Args: json.RawMessage(`{"a":`)}})
	require.Error(t, err)
}

func FuzzInputValueMatchesJSON(f *testing.F) {
	f.Add("spiffe://x/y", "send", "write", `{"a":1}`, "h", 443, "t")
	f.Add("", "", "", `null`, "", 0, "")
	shared := &Engine{} // its term caches see every input the fuzzer makes
	f.Fuzz(func(t *testing.T, id, tool, effect, args, host string, port int, taint string) {
		in := &Input{
			Subject: Subject{SPIFFEID: id}, Tool: Tool{Name: tool, Effect: effect},
			Principal: Principal{User: taint, Chain: []string{id, tool}[:port&1+1]},
			Call:      Call{Args: json.RawMessage(args), Destinations: []Destination{{Kind: "url", Host: host, Port: port}}},
			Context:   Context{ConversationID: host, Taint: []string{taint, effect}[:port&1+1]},
		}
		want, werr := in.astValue()
		got, gerr := shared.inputValue(in)
		if werr != nil || gerr != nil {
			if (werr == nil) != (gerr == nil) && json.Valid([]byte(args)) {
				t.Fatalf("errors differ: json %v, direct %v", werr, gerr)
			}
			return
		}
		if want.Compare(got) != 0 {
			t.Fatalf("mismatch:\nwant %v\ngot  %v", want, got)
		}
	})
}

// astValue is the reference the direct conversion is tested against: the
// input encoded as JSON and parsed into an OPA value. Nil
// slices become empty arrays: a policy writing count(input.context.taint)
// must see 0, not a type error on null.
func (in *Input) astValue() (ast.Value, error) {
	c := *in
	c.Principal.Chain = nonNil(c.Principal.Chain)
	c.Task.Scopes = nonNil(c.Task.Scopes)
	c.Call.Destinations = nonNil(c.Call.Destinations)
	c.Context.Taint = nonNil(c.Context.Taint)
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode input: %w", err)
	}
	v, err := ast.ValueFromReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse input: %w", err)
	}
	return v, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
