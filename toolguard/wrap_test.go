package toolguard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

func TestWrapRejectsBadDeclarations(t *testing.T) {
	f := newFixture(t)
	fn := (&probe{}).fn
	cases := map[string]toolguard.Tool{
		"empty name":     {Effect: toolguard.Read},
		"bad name":       {Name: "send email; rm", Effect: toolguard.Read},
		"no effect":      {Name: "x"},
		"unknown effect": {Name: "x", Effect: "teleport"},
		"unknown risk":   {Name: "x", Effect: toolguard.Read, Risk: "extreme"},
		"zero dest":      {Name: "x", Effect: toolguard.Read, Destinations: []toolguard.Dest{{}}},
		"empty field":    {Name: "x", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.URLArg("")}},
		"relative root":  {Name: "x", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.PathArg("p", "data")}},
	}
	for name, tool := range cases {
		t.Run(name, func(t *testing.T) {
			w, err := toolguard.Wrap(f.guard, tool, fn)
			require.Error(t, err)
			require.Nil(t, w)
		})
	}
	_, err := toolguard.Wrap[DocArgs, string](f.guard, fetchTool, nil)
	require.ErrorContains(t, err, "nil function")
	_, err = toolguard.WrapJSON(nil, fetchTool, func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
	require.ErrorContains(t, err, "nil guard")
}

func TestWrapDeniesArgsThatCannotBeFrozen(t *testing.T) {
	f := newFixture(t)
	ran := false
	type bad struct{ C chan int }
	w, err := toolguard.Wrap(f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read}, func(context.Context, bad) (int, error) { ran = true; return 0, nil })
	require.NoError(t, err)
	_, err = w(context.Background(), bad{C: make(chan int)})
	requireDenied(t, err, toolguard.CodeBadArgs)

	// Unexported fields are not part of the call: the policy never sees
	// them, so the tool receives them zeroed.
	type lossy struct {
		URL    string `json:"url"`
		hidden string
	}
	var got lossy
	w2, err := toolguard.Wrap(f.guard, fetchTool, func(_ context.Context, a lossy) (int, error) { got = a; return 0, nil })
	require.NoError(t, err)
	_, err = w2(context.Background(), lossy{URL: "https://docs.example.com/", hidden: "x"})
	require.NoError(t, err)
	require.Equal(t, lossy{URL: "https://docs.example.com/"}, got)
	require.False(t, ran)
}

func TestWrapJSONCanonicalizesAndRefusesAmbiguity(t *testing.T) {
	f := newFixture(t)
	var got json.RawMessage
	fetch, err := toolguard.WrapJSON(f.guard, fetchTool, func(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
		got = args
		return json.RawMessage(`{"ok":true}`), nil
	})
	require.NoError(t, err)
	out, err := fetch(context.Background(), json.RawMessage(` {"z": 1.50, "url": "https://docs.example.com/x"} `))
	require.NoError(t, err)
	require.JSONEq(t, `{"ok":true}`, string(out))
	require.Equal(t, `{"url":"https://docs.example.com/x","z":1.50}`, string(got))
	require.True(t, strings.HasPrefix(f.sink.last(t).ArgsDigest, toolguard.ArgsDigestPrefix), f.sink.last(t).ArgsDigest)

	for name, raw := range map[string]string{
		"invalid":       `{"url":`,
		"trailing":      `{"url":"https://docs.example.com/"} {"url":"https://evil.example/"}`,
		"empty":         ``,
		"wrong type":    `{"url": 7}`,
		"hidden target": `{"url":"https://docs.example.com@evil.example/"}`,
	} {
		t.Run(name, func(t *testing.T) {
			got = nil
			_, err := fetch(context.Background(), json.RawMessage(raw))
			var d *toolguard.DeniedError
			require.ErrorAs(t, err, &d)
			require.Contains(t, []string{toolguard.CodeBadArgs, toolguard.CodeBadDestination}, d.Code)
			require.Nil(t, got, "tool ran")
		})
	}
}

func TestTransportLimitsEgressToGrantedHosts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:1/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	client := &http.Client{Transport: egress.Transport(srv.Client().Transport)}

	// Outside a guarded call nothing goes out.
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	_, err = client.Do(req)
	require.ErrorContains(t, err, "request not within a guarded call")

	// Inside one, the granted host is reached, and a redirect elsewhere is refused.
	err = fetchWith(t, grantingDecider(false, "127.0.0.1"), client, srv.URL)
	require.ErrorContains(t, err, "egress to 127.0.0.2 refused")
}
