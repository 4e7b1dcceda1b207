package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/jaegertest"
)

// The quickstart exported over OTLP to a real Jaeger, read back through
// Jaeger's query API: what a security team would see.
func TestQuickstartTracesInJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	env := func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return j.OTLPHTTP
		}
		return ""
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.OTLPHTTP) // the exporter reads the variable itself
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, env, t.TempDir()))
	require.Contains(t, out.String(), "OTLP/HTTP to "+j.OTLPHTTP)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	traces, err := j.Traces(ctx, "ztagent-quickstart", 1)
	require.NoError(t, err)
	require.Len(t, traces, 1, "one trace per conversation")
	spans := traces[0].Spans

	byName := map[string][]jaegertest.Span{}
	bySpanID := map[string]jaegertest.Span{}
	for _, s := range spans {
		byName[strings.Fields(s.OperationName)[0]] = append(byName[strings.Fields(s.OperationName)[0]], s)
		bySpanID[s.SpanID] = s
	}
	require.Len(t, byName["invoke_agent"], 1)
	require.Len(t, byName["chat"], 3, "one chat span per model turn")
	require.Len(t, byName["execute_tool"], 8, "one execute_tool span per proposed call")

	wantCode := map[string]string{
		"call_3": "destination_not_allowed", "call_4": "destination_not_allowed", "call_5": "bad_destination",
		"call_6": "tool_not_granted", "call_8": "approval_refused",
	}
	for _, s := range byName["execute_tool"] {
		callID, ok := s.Tag("gen_ai.tool.call.id")
		require.True(t, ok)
		// Linked to the chat span of the turn that proposed this call.
		var linked *jaegertest.Span
		for _, r := range s.References {
			if r.RefType == "FOLLOWS_FROM" {
				ls := bySpanID[r.SpanID]
				linked = &ls
			}
		}
		require.NotNil(t, linked, "%s has no link", callID)
		require.True(t, strings.HasPrefix(linked.OperationName, "chat "), "%s links to %s", callID, linked.OperationName)
		proposed, _ := linked.Tag("ztagent.turn.tool_call_ids")
		require.Contains(t, proposed, callID, "%s linked to a turn that did not propose it", callID)

		outcome, _ := s.Tag("ztagent.outcome")
		if code, denied := wantCode[callID]; denied {
			require.Equal(t, "denied", outcome, callID)
			got, _ := s.Tag("ztagent.outcome.code")
			require.Equal(t, code, got, callID)
		} else {
			require.Equal(t, "ok", outcome, callID)
		}
	}

	// No attribute or event holds a secret, a prompt or an argument value.
	raw, err := json.Marshal(spans)
	require.NoError(t, err)
	for _, leak := range []string{"eyJ", "Bearer", "Summarize the support inbox", "Refund issued.", "archive@evil.example",
		"order+4411+refund", "<the inbox>", "bob@example.com"} {
		require.NotContains(t, string(raw), leak)
	}
}
