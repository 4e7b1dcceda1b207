package toolguard_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
)

func redactingDecider(allow bool, redact ...string) deciderFunc {
	return func(context.Context, *authz.Input) (authz.Decision, error) {
		d := authz.Decision{
			Allow:      allow,
			Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: 10},
			Egress:     authz.Egress{Hosts: []string{"docs.example.com"}},
			Redact:     redact,
		}
		if !allow {
			d.Reasons = []authz.Reason{{Code: "nope", Message: "no"}}
		}
		return d, nil
	}
}

func TestStrictAuditRecordsBeforeRunning(t *testing.T) {
	f := newFixture(t, toolguard.WithStrictAudit(), toolguard.WithDecider(redactingDecider(true)))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/a"})
	require.NoError(t, err)
	recs := f.sink.all()
	require.Len(t, recs, 2)
	require.Equal(t, audit.StatusAuthorized, recs[0].Outcome)
	require.True(t, recs[0].Allow)
	require.NotEmpty(t, recs[0].CredentialID, "written last before the tool runs, credential and all")
	require.Equal(t, recs[0].CallID, recs[1].CallID)
	require.Equal(t, "ok", recs[1].Outcome)
	require.Equal(t, recs[0].CredentialID, recs[1].CredentialID)
	require.Nil(t, recs[1].Args, "no values by default")
}

func TestStrictAuditDeniesWhenRecordLost(t *testing.T) {
	sink := &memSink{err: errors.New("disk full")}
	f := newFixture(t, toolguard.WithStrictAudit(), toolguard.WithSink(sink), toolguard.WithDecider(redactingDecider(true)))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/a"})
	requireDenied(t, err, toolguard.CodeAuditUnavailable)
	require.Zero(t, p.ran.Load())
	require.EqualValues(t, 2, f.guard.Stats().SinkFailures)
	last := sink.last(t)
	require.Equal(t, "denied", last.Outcome)
	require.False(t, last.Allow)
	require.Equal(t, toolguard.CodeAuditUnavailable, last.Code)
	require.NotEmpty(t, last.CredentialID)
	revoked, err := f.minter.Revoked(context.Background(), last.CredentialID)
	require.NoError(t, err)
	require.True(t, revoked, "the credential of a call that will not run is revoked")
}

// A call denied after approval (here: no credential) never has an
// "authorized" record: in strict mode, "authorized" without a final record
// means the tool ran and the final record was lost.
func TestStrictAuditNoAuthorizedRecordForACallThatDidNotRun(t *testing.T) {
	base := newFixture(t)
	f := newFixture(t, toolguard.WithStrictAudit(), toolguard.WithDecider(redactingDecider(true)),
		toolguard.WithIssuer(&faultyIssuer{Issuer: base.minter, issueErr: errors.New("hsm offline")}))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/a"})
	requireDenied(t, err, toolguard.CodeCredentialUnavailable)
	recs := f.sink.all()
	require.Len(t, recs, 1)
	require.Equal(t, "denied", recs[0].Outcome)
}

func TestLenientAuditCountsAndRuns(t *testing.T) {
	sink := &memSink{err: errors.New("disk full")}
	f := newFixture(t, toolguard.WithSink(sink), toolguard.WithDecider(redactingDecider(true)))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/a"})
	require.NoError(t, err)
	require.EqualValues(t, 1, p.ran.Load())
	require.EqualValues(t, 1, f.guard.Stats().SinkFailures)
}

func TestRecordArgsRedacted(t *testing.T) {
	key := []byte("0123456789abcdef-e2e")
	for _, allow := range []bool{true, false} {
		f := newFixture(t, toolguard.WithRecordArgs(key), toolguard.WithDecider(redactingDecider(allow, "call.args.to")))
		var p probe
		fetch := wrap(t, f.guard, fetchTool, p.fn)
		_, _ = fetch(context.Background(), DocArgs{URL: "https://docs.example.com/a", To: "secret@example.com"})
		rec := f.sink.last(t)
		require.Equal(t, allow, rec.Allow)
		require.Equal(t, "https://docs.example.com/a", rec.Args["url"])
		require.True(t, strings.HasPrefix(rec.Args["to"].(string), "hmac-sha256:"), rec.Args["to"])
	}
}
