package creds

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// recordingRT records what would go on the wire.
type recordingRT struct{ got []*http.Request }

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req)
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

func TestTransportBinding(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	r := testRequest() // audience https://mail.example.com
	c, err := m.Issue(context.Background(), r)
	require.NoError(t, err)
	ctx := NewContext(context.Background(), c)
	bearer := "Bearer " + c.Token()

	tests := []struct {
		url    string
		attach bool
	}{
		{"https://mail.example.com/v1/send", true},
		{"https://mail.example.com:443/", true},
		{"https://MAIL.example.com./x", true},
		{"http://mail.example.com/v1/send", false},
		{"https://mail.example.com:8443/", false},
		{"https://evil.example.com/", false},
		{"https://mail.example.com.evil.com/", false},
		{"https://sub.mail.example.com/", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			for _, refuse := range []bool{false, true} {
				rec := &recordingRT{}
				var opts []TransportOption
				if refuse {
					opts = append(opts, RefuseUnbound())
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, tt.url, strings.NewReader("body"))
				require.NoError(t, err)
				resp, err := Transport(rec, opts...).RoundTrip(req)
				require.Empty(t, req.Header.Get("Authorization"), "the caller's request is not mutated")
				switch {
				case tt.attach:
					require.NoError(t, err)
					resp.Body.Close()
					require.Len(t, rec.got, 1)
					require.Equal(t, bearer, rec.got[0].Header.Get("Authorization"))
				case refuse:
					require.ErrorIs(t, err, ErrUnbound)
					require.NotContains(t, err.Error(), c.Token())
					require.Empty(t, rec.got)
				default:
					require.NoError(t, err)
					resp.Body.Close()
					require.Len(t, rec.got, 1)
					require.Empty(t, rec.got[0].Header.Get("Authorization"))
				}
			}
		})
	}
}

func TestTransportAudiencesThatBindNothing(t *testing.T) {
	for _, aud := range []string{"http://mail.example.com", "mail.example.com", "https://u:p@mail.example.com", "urn:x", "spiffe://example.org/mail"} {
		u, err := url.Parse("https://mail.example.com/")
		require.NoError(t, err)
		require.False(t, sameOrigin(aud, u), aud)
	}
}

func TestTransportLeavesOtherRequestsAlone(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	c, err := m.Issue(context.Background(), testRequest())
	require.NoError(t, err)
	rec := &recordingRT{}
	tr := Transport(rec, RefuseUnbound())

	// No credential in the context: passes unchanged even with RefuseUnbound.
	req, err := http.NewRequest(http.MethodGet, "https://other.example.com/", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Basic abc")
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "Basic abc", rec.got[0].Header.Get("Authorization"))

	// A caller-set header to another host is neither stripped nor replaced.
	rec.got = nil
	req, err = http.NewRequestWithContext(NewContext(context.Background(), c), http.MethodGet, "https://other.example.com/", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Basic abc")
	resp, err = Transport(rec).RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "Basic abc", rec.got[0].Header.Get("Authorization"))
}

// A redirect from the audience to another host must not carry the token.
func TestTransportRedirectToOtherHost(t *testing.T) {
	var otherSaw []string
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherSaw = append(otherSaw, r.Header.Get("Authorization"))
	}))
	defer other.Close()
	var audSaw []string
	aud := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		audSaw = append(audSaw, r.Header.Get("Authorization"))
		// Same IP, other port: another origin.
		http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
	}))
	defer aud.Close()

	m := newTestMinter(t, newFakeClock())
	r := testRequest()
	r.Audience = aud.URL
	c, err := m.Issue(context.Background(), r)
	require.NoError(t, err)
	base := aud.Client().Transport.(*http.Transport).Clone()
	base.TLSClientConfig.RootCAs.AddCert(other.Certificate())
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: Transport(base)}
	req, err := http.NewRequestWithContext(NewContext(context.Background(), c), http.MethodGet, aud.URL+"/start", nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, []string{"Bearer " + c.Token()}, audSaw)
	require.Equal(t, []string{""}, otherSaw)

	// With RefuseUnbound the redirect hop fails instead.
	client = &http.Client{Transport: Transport(base, RefuseUnbound())}
	req, err = http.NewRequestWithContext(NewContext(context.Background(), c), http.MethodGet, aud.URL+"/start", nil)
	require.NoError(t, err)
	_, err = client.Do(req)
	require.True(t, errors.Is(err, ErrUnbound))
	require.Len(t, otherSaw, 1)
}
