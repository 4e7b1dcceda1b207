package main

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestToolBackend(t *testing.T) {
	var buf bytes.Buffer
	out, err := run(context.Background(), &buf)
	require.NoError(t, err)
	require.Equal(t, []outcome{
		{"allowed", http.StatusOK,
			"3 messages for user:alice@example.com (read by spiffe://example.org/agent/support, scopes [email:read])"},
		{"same token again (replay)", http.StatusUnauthorized, "token replayed"},
		{"revoked token", http.StatusUnauthorized, "token revoked"},
		{"token for another audience", http.StatusUnauthorized, "token is for another audience"},
		{"mail credential, other host", 0, "refused by the transport: not the credential's audience"},
	}, out)
	require.Contains(t, buf.String(), "CALL")
	require.Contains(t, buf.String(), "token replayed")
}
