package identity

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewDevSourceOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []DevOption
		wantID  string
		wantErr string
	}{
		{name: "defaults", wantID: "spiffe://ztagent.dev/agent/default"},
		{
			name:   "custom trust domain and path",
			opts:   []DevOption{WithTrustDomain("example.org"), WithWorkloadPath("/agent/support")},
			wantID: "spiffe://example.org/agent/support",
		},
		{name: "min ttl", opts: []DevOption{WithSVIDTTL(MinSVIDTTL)}, wantID: "spiffe://ztagent.dev/agent/default"},
		{name: "max ttl", opts: []DevOption{WithSVIDTTL(MaxSVIDTTL)}, wantID: "spiffe://ztagent.dev/agent/default"},
		{name: "custom clock", opts: []DevOption{WithClock(time.Now)}, wantID: "spiffe://ztagent.dev/agent/default"},
		{name: "last option wins", opts: []DevOption{WithWorkloadPath("/a"), WithWorkloadPath("/b")}, wantID: "spiffe://ztagent.dev/b"},

		{name: "empty trust domain", opts: []DevOption{WithTrustDomain("")}, wantErr: "invalid trust domain"},
		{name: "upper case trust domain", opts: []DevOption{WithTrustDomain("Example.org")}, wantErr: "invalid trust domain"},
		{name: "trust domain with space", opts: []DevOption{WithTrustDomain("exa mple.org")}, wantErr: "invalid trust domain"},
		{name: "trust domain as uri", opts: []DevOption{WithTrustDomain("spiffe://example.org")}, wantErr: "bare name"},
		{name: "trust domain with path", opts: []DevOption{WithTrustDomain("spiffe://example.org/agent")}, wantErr: "bare name"},
		{name: "empty path", opts: []DevOption{WithWorkloadPath("")}, wantErr: "empty workload path"},
		{name: "path without slash", opts: []DevOption{WithWorkloadPath("agent")}, wantErr: "invalid workload path"},
		{name: "path with trailing slash", opts: []DevOption{WithWorkloadPath("/agent/")}, wantErr: "invalid workload path"},
		{name: "path with dot segment", opts: []DevOption{WithWorkloadPath("/agent/../admin")}, wantErr: "invalid workload path"},
		{name: "path with bad char", opts: []DevOption{WithWorkloadPath("/agent?x=1")}, wantErr: "invalid workload path"},
		{name: "zero ttl", opts: []DevOption{WithSVIDTTL(0)}, wantErr: "svid ttl"},
		{name: "negative ttl", opts: []DevOption{WithSVIDTTL(-time.Minute)}, wantErr: "svid ttl"},
		{name: "ttl too short", opts: []DevOption{WithSVIDTTL(MinSVIDTTL - time.Nanosecond)}, wantErr: "svid ttl"},
		{name: "ttl too long", opts: []DevOption{WithSVIDTTL(MaxSVIDTTL + time.Nanosecond)}, wantErr: "svid ttl"},
		{name: "nil clock", opts: []DevOption{WithClock(nil)}, wantErr: "nil clock"},
		{name: "nil option", opts: []DevOption{nil}, wantErr: "option 0 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewDevSource(context.Background(), tt.opts...)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Nil(t, s)
				require.True(t, strings.HasPrefix(err.Error(), "identity: "), err.Error())
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, s.Close()) })
			require.Equal(t, tt.wantID, s.ID().String())
		})
	}
}

func TestNewDevSourceCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := NewDevSource(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "identity: ")
	require.Nil(t, s)
}
