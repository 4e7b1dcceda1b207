// Command quickstart runs a scripted support agent through ztagent on the
// embedded defaults: no network, no LLM key, nothing to install.
//
//	go run ./examples/quickstart
//
// The agent reads a file, fetches a status page that carries a prompt
// injection, is steered into trying to exfiltrate the inbox, and then does
// its real job. Every call is authenticated with a dev SPIFFE identity,
// authorized by the default Rego policy, given a short-lived credential and
// traced. Set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318) to send
// the spans to an OpenTelemetry collector, Jaeger or Tempo; otherwise they are
// written as JSON to a file whose name is printed at the end.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/toolguard"
)

// policyData is the data the default policy reads: which tools this agent is
// granted and which hosts it may reach. It is data, not code.
//
//go:embed policy-data.json
var policyData []byte

func main() {
	if err := run(context.Background(), os.Stdout, os.Getenv, os.TempDir()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, getenv func(string) string, outDir string) (err error) {
	tp, traceDest, err := setupTracing(ctx, getenv, outDir)
	if err != nil {
		return err
	}
	defer func() {
		if serr := tp.Shutdown(context.WithoutCancel(ctx)); serr != nil && err == nil {
			err = fmt.Errorf("flushing spans: %w", serr)
		}
	}()

	id, idDesc, err := agentIdentity(ctx, getenv)
	if err != nil {
		return err
	}
	defer id.Close()

	recordPath := filepath.Join(outDir, "ztagent-quickstart-records.jsonl")
	recordFile, err := os.Create(recordPath)
	if err != nil {
		return err
	}
	defer recordFile.Close()
	records := &recordTable{next: audit.NewJSONLines(recordFile), byID: map[string]audit.Record{}}

	g, err := toolguard.New(ctx,
		toolguard.WithIdentity(id),
		toolguard.WithPolicyData(policyData),
		toolguard.WithTracerProvider(tp),
		toolguard.WithSink(records),
		toolguard.WithApprover(toolguard.ApproverFunc(scriptedApprover)),
	)
	if err != nil {
		return err
	}
	defer g.Close(ctx)

	dataDir, err := os.MkdirTemp(outDir, "ztagent-quickstart-data-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	inbox := "order 4411: refund please (bob@example.com)\nticket rec-17: resolved\n"
	if err := os.WriteFile(filepath.Join(dataDir, "inbox.txt"), []byte(inbox), 0o600); err != nil {
		return err
	}
	tb, err := newToolbox(g, dataDir)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "agent identity: %s\n\n", idDesc)
	rows := runAgent(ctx, g, tb, script(dataDir), records)
	printRows(out, rows)

	st := g.Stats()
	fmt.Fprintf(out, "\n%d calls, %d denied; credential revocation failures: %d; lost records: %d\n",
		st.Calls, st.Denied, st.RevokeFailures, st.SinkFailures)
	fmt.Fprintf(out, "decision records: %s\n", recordPath)
	fmt.Fprintf(out, "traces: %s\n", traceDest)
	return nil
}

// closingSource is an identity source the quickstart must close.
type closingSource interface {
	identity.Source
	Close() error
}

// agentIdentity asks a SPIRE agent when SPIFFE_ENDPOINT_SOCKET is set (see
// examples/spire), and otherwise mints a dev identity in process.
func agentIdentity(ctx context.Context, getenv func(string) string) (closingSource, string, error) {
	if addr := getenv("SPIFFE_ENDPOINT_SOCKET"); addr != "" {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		src, err := identity.FromWorkloadAPI(wctx, identity.WithAddr(addr), identity.WithTrustDomain("ztagent.dev"))
		if err != nil {
			return nil, "", err
		}
		svid, err := src.GetX509SVID()
		if err != nil {
			src.Close()
			return nil, "", err
		}
		return src, fmt.Sprintf("%s (SPIRE agent at %s, SVID valid until %s)", svid.ID, addr, svid.Certificates[0].NotAfter.Format(time.TimeOnly)), nil
	}
	src, err := identity.NewDevSource(ctx, identity.WithWorkloadPath("/agent/quickstart"))
	if err != nil {
		return nil, "", err
	}
	return src, src.ID().String() + " (in-process dev CA, short-lived SVID; run examples/spire/run.sh for SPIRE)", nil
}

// scriptedApprover stands in for a human reviewer: it sees the frozen
// arguments (what will run, bound by their digest) and answers.
func scriptedApprover(_ context.Context, req toolguard.ApprovalRequest) (toolguard.Approval, error) {
	if req.Tool.Name == "send_email" {
		var a EmailArgs
		if err := json.Unmarshal(req.Args, &a); err != nil {
			return toolguard.Approval{}, err
		}
		if strings.HasSuffix(a.To, "@example.com") {
			return toolguard.Approval{Approved: true, By: "reviewer@example.com", Reason: "reply to a customer"}, nil
		}
	}
	return toolguard.Approval{Approved: false, By: "reviewer@example.com", Reason: "needs a change ticket"}, nil
}
