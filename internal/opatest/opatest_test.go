package opatest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/opatest"
)

// The harness itself: OPA starts with a policy and data, decides over HTTP,
// and stops.
func TestOPAServerDecides(t *testing.T) {
	o := opatest.Start(t, map[string]string{"p/p.rego": "package p\nallow if input.user in data.users\n"}, []byte(`{"users": ["alice"]}`))
	res, err := o.Decide(context.Background(), "p/allow", []byte(`{"user": "alice"}`))
	require.NoError(t, err)
	var allow bool
	require.NoError(t, json.Unmarshal(res, &allow))
	require.True(t, allow)
	_, err = o.Decide(context.Background(), "p/allow", []byte(`{"user": "bob"}`))
	require.Error(t, err, "undefined for bob")
}
