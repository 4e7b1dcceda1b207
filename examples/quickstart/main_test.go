package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/internal/spiretest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// With SPIFFE_ENDPOINT_SOCKET set, the quickstart's identity comes from a
// real SPIRE agent (what examples/spire/run.sh sets up), and the scenario
// ends the same way.
func TestQuickstartWithSPIRE(t *testing.T) {
	s := spiretest.Start(t)
	s.Register("spiffe://ztagent.dev/agent/quickstart", time.Minute)
	var out bytes.Buffer
	env := func(k string) string {
		if k == "SPIFFE_ENDPOINT_SOCKET" {
			return s.Addr()
		}
		return ""
	}
	require.NoError(t, run(context.Background(), &out, env, t.TempDir()))
	require.Contains(t, out.String(), "spiffe://ztagent.dev/agent/quickstart (SPIRE agent at "+s.Addr())
	require.Contains(t, out.String(), "8 calls, 5 denied")
}

// The quickstart is the product's first impression: each scripted call must
// end the way the README says.
func TestQuickstartScenario(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, func(string) string { return "" }, dir))
	text := out.String()

	want := map[string][2]string{ // call → decision, reason
		"call_1": {"allowed", "allowed"},
		"call_2": {"allowed", "allowed"},
		"call_3": {"DENIED", "destination_not_allowed"},
		"call_4": {"DENIED", "destination_not_allowed"},
		"call_5": {"DENIED", "bad_destination"},
		"call_6": {"DENIED", "tool_not_granted"},
		"call_7": {"approved", "write_requires_approval"},
		"call_8": {"DENIED", "approval_refused"},
	}
	for call, w := range want {
		re := regexp.MustCompile(`(?m)^\d\s+` + call + `\s+\S+\s+` + w[0] + `\s+` + w[1] + `\s`)
		require.Regexp(t, re, text, "row for %s", call)
	}
	require.Contains(t, text, "8 calls, 5 denied")
	require.Contains(t, text, "lost records: 0")
	// Each row shows the argument the decision turned on.
	for call, arg := range map[string]string{
		"call_3": "url=https://evil.example/collect", "call_4": "to=archive@evil.example",
		"call_5": "path=data/../../etc/passwd", "call_7": "to=bob@example.com",
	} {
		require.Regexp(t, regexp.MustCompile(`(?m)^\d\s+`+call+`\s.*\s`+regexp.QuoteMeta(arg)), text, "argument of %s", call)
	}

	// Every call, allowed or denied, has a decision record; none holds a token.
	raw, err := os.ReadFile(filepath.Join(dir, "ztagent-quickstart-records.jsonl"))
	require.NoError(t, err)
	var recs []audit.Record
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var r audit.Record
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		recs = append(recs, r)
	}
	require.Len(t, recs, 8)
	require.NotContains(t, string(raw), "eyJ", "a JWT reached the decision records")
	for _, r := range recs {
		require.Equal(t, "spiffe://ztagent.dev/agent/quickstart", r.Subject, r.CallID)
		require.NotEmpty(t, r.ProposedBySpan, r.CallID)
		if r.Allow {
			require.NotEmpty(t, r.CredentialID)
			require.Equal(t, 60.0, r.CredentialTTLSeconds)
		}
	}

	// Spans went to the file it named, and neither prompts nor tokens are in them.
	spans, err := os.ReadFile(filepath.Join(dir, "ztagent-quickstart-spans.json"))
	require.NoError(t, err)
	require.Contains(t, text, filepath.Join(dir, "ztagent-quickstart-spans.json"))
	for _, s := range []string{"execute_tool send_email", "chat scripted-model", "invoke_agent support-agent", "run_guardrail"} {
		require.Contains(t, string(spans), s)
	}
	require.NotContains(t, string(spans), "Summarize the support inbox")
	require.NotContains(t, string(spans), "eyJ")
	require.False(t, strings.Contains(string(spans), "Refund issued."), "argument value in spans")
}
