package creds

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestContext(t *testing.T) {
	c := &Credential{ID: "abc"}
	tests := []struct {
		name   string
		ctx    context.Context
		want   *Credential
		wantOK bool
	}{
		{"round trip", NewContext(context.Background(), c), c, true},
		{"survives derived contexts", context.WithValue(NewContext(context.Background(), c), struct{}{}, 1), c, true},
		{"absent", context.Background(), nil, false},
		{"nil credential", NewContext(context.Background(), nil), nil, false},
		{"other key with same value type", context.WithValue(context.Background(), struct{ x int }{}, c), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromContext(tt.ctx)
			require.Equal(t, tt.wantOK, ok)
			require.Same(t, tt.want, got)
		})
	}
}
