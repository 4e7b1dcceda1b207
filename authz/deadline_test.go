package authz_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

// runawayPolicy would allow, after some 10^10 steps of evaluation: it never
// finishes within a test, so only a deadline ends it. Its ranges are small
// enough to build at once; the work is in iterating over their product.
const runawayPolicy = `package p

runaway if {
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
	i * j < 0
}

decision := {"allow": true} if not runaway
`

// An engine built without WithTimeout still bounds every decision: a
// runaway policy is denied with the deadline's code instead of holding the
// call until it finishes. The bound on the time taken only shows that the
// evaluation was cut short; the default itself is checked in
// TestDefaultTimeoutIs500ms.
func TestRunawayPolicyHitsTheDefaultDeadline(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(), authz.WithModule("p.rego", runawayPolicy), authz.WithQuery("data.p.decision"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })

	start := time.Now()
	d, err := e.Decide(context.Background(), readInput())
	took := time.Since(start)
	require.Equal(t, authz.CodeDeadline, authz.CodeOf(err), "error: %v", err)
	require.False(t, d.Allow)
	require.Less(t, took, 20*time.Second, "the evaluation was not cut short")
	t.Logf("denied after %s", took)
}
