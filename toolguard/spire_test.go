package toolguard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/internal/spiretest"
	"github.com/ztagent/ztagent/toolguard"
)

// A guarded call made with an identity that a real SPIRE agent issued: the
// policy judges the SPIRE SPIFFE ID, and the span and the decision record
// carry it and the SVID in use.
func TestGuardedCallWithSPIREIdentity(t *testing.T) {
	s := spiretest.Start(t)
	s.Register(agentID, time.Minute) // the ID policyData grants
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := identity.FromWorkloadAPI(ctx, identity.WithAddr(s.Addr()), identity.WithTrustDomain(spiretest.TrustDomain))
	require.NoError(t, err)
	defer src.Close()

	f := newFixtureAt(t, time.Now, toolguard.WithIdentity(src))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err = fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.EqualValues(t, 1, p.ran.Load())

	svid, err := src.GetX509SVID()
	require.NoError(t, err)
	rec := f.sink.last(t)
	require.Equal(t, agentID, rec.Subject)
	require.Equal(t, svid.Certificates[0].SerialNumber.Text(16), rec.SVIDSerial)
	require.Equal(t, agentID, p.cred.Subject)
	var attrs []attribute.KeyValue
	for _, sp := range f.spans.Ended() {
		if sp.Name() == "execute_tool fetch" {
			attrs = sp.Attributes()
		}
	}
	require.Contains(t, attrs, attribute.String("ztagent.subject.spiffe_id", agentID))
	require.Contains(t, attrs, attribute.String("ztagent.svid.serial", rec.SVIDSerial))

	// Past the SVID's NotAfter (by the guard's clock) the call is denied.
	late := newFixtureAt(t, func() time.Time { return time.Now().Add(2 * time.Minute) }, toolguard.WithIdentity(src))
	lateFetch := wrap(t, late.guard, fetchTool, p.fn)
	_, err = lateFetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeIdentityExpired)
	require.EqualValues(t, 1, p.ran.Load())
}
