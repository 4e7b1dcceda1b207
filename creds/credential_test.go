package creds

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCredentialNeverPrintsToken(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	c, err := m.Issue(context.Background(), testRequest())
	require.NoError(t, err)
	token := c.Token()
	require.NotEmpty(t, token)

	type holder struct {
		Exported   Credential
		unexported Credential
		ptr        *Credential
	}
	h := holder{Exported: *c, unexported: *c, ptr: c}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, arg := range []any{c, *c, h, &h, []*Credential{c}, map[string]Credential{"k": *c}} {
			outputs = append(outputs, fmt.Sprintf(verb, arg))
		}
	}
	outputs = append(outputs, fmt.Sprint(c), fmt.Sprintln(*c), c.String(), c.GoString())

	for _, arg := range []any{c, *c, h} {
		b, err := json.Marshal(arg)
		require.NoError(t, err)
		outputs = append(outputs, string(b))
	}

	var logs bytes.Buffer
	for _, handler := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		l := slog.New(handler)
		l.Info("issued", "cred", c, "value", *c)
		l.Info("issued", slog.Any("cred", c))
	}
	outputs = append(outputs, logs.String())

	// Each JWS segment is checked too: leaking the signature or payload alone
	// is still a leak.
	secrets := append([]string{token}, strings.Split(token, ".")...)
	for _, out := range outputs {
		for _, s := range secrets {
			require.NotContains(t, out, s)
		}
	}

	// And the metadata is actually there, so the redaction is useful.
	require.Contains(t, fmt.Sprintf("%v", c), c.ID)
	require.Contains(t, fmt.Sprintf("%+v", *c), c.Audience)
	require.Contains(t, fmt.Sprintf("%#v", c), c.ID)
	require.Contains(t, logs.String(), c.ID)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	var decoded map[string]any
	require.NoError(t, json.Unmarshal(b, &decoded))
	require.Equal(t, c.ID, decoded["id"])
	require.Equal(t, c.Audience, decoded["audience"])
	require.NotContains(t, decoded, "token")
}

func TestCredentialAccessors(t *testing.T) {
	tests := []struct {
		name      string
		c         *Credential
		wantToken string
		wantTTL   time.Duration
	}{
		{"nil", nil, "", 0},
		{"zero", &Credential{}, "", 0},
		{"set", &Credential{IssuedAt: t0, ExpiresAt: t0.Add(time.Minute), token: new("tok")}, "tok", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.wantToken, tt.c.Token())
			require.Equal(t, tt.wantTTL, tt.c.TTL())
		})
	}
}

func TestCredentialJSONEmptyScopes(t *testing.T) {
	b, err := json.Marshal(Credential{ID: "x"})
	require.NoError(t, err)
	require.Contains(t, string(b), `"scopes":[]`)
}
