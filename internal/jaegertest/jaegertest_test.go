package jaegertest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/jaegertest"
)

// The harness itself: Jaeger starts, answers its query API, and stops.
func TestJaegerStarts(t *testing.T) {
	j := jaegertest.Start(t)
	resp, err := http.Get(j.QueryHTTP + "/api/services")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = j.Traces(ctx, "nobody", 1)
	require.Error(t, err, "no traces for a service that never sent any")
}
