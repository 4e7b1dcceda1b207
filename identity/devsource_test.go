package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/require"
)

func TestGetX509SVIDIsValidSPIFFESVID(t *testing.T) {
	tests := []struct {
		name   string
		opts   []DevOption
		wantID string
		ttl    time.Duration
	}{
		{name: "defaults", wantID: "spiffe://ztagent.dev/agent/default", ttl: 5 * time.Minute},
		{
			name:   "custom",
			opts:   []DevOption{WithTrustDomain("example.org"), WithWorkloadPath("/ns/prod/agent/support")},
			wantID: "spiffe://example.org/ns/prod/agent/support",
			ttl:    5 * time.Minute,
		},
		{name: "shortest ttl", opts: []DevOption{WithSVIDTTL(MinSVIDTTL)}, wantID: "spiffe://ztagent.dev/agent/default", ttl: MinSVIDTTL},
		{name: "longest ttl", opts: []DevOption{WithSVIDTTL(MaxSVIDTTL)}, wantID: "spiffe://ztagent.dev/agent/default", ttl: MaxSVIDTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := newTestSource(t, append([]DevOption{WithClock(clock.Now)}, tt.opts...)...)

			svid, err := s.GetX509SVID()
			require.NoError(t, err)
			require.Equal(t, tt.wantID, svid.ID.String())
			require.Equal(t, tt.wantID, s.ID().String())

			id, chains, err := x509svid.Verify(svid.Certificates, s, x509svid.WithTime(clock.Now()))
			require.NoError(t, err)
			require.Equal(t, tt.wantID, id.String())
			require.NotEmpty(t, chains)

			leaf := svid.Certificates[0]
			require.Len(t, svid.Certificates, 1)
			require.Len(t, leaf.URIs, 1)
			require.Equal(t, tt.wantID, leaf.URIs[0].String())
			require.False(t, leaf.IsCA)
			require.Equal(t, x509.KeyUsageDigitalSignature, leaf.KeyUsage)
			require.Positive(t, leaf.SerialNumber.Sign())
			require.LessOrEqual(t, leaf.SerialNumber.BitLen(), 128)
			require.WithinDuration(t, clock.Now().Add(tt.ttl), leaf.NotAfter, time.Second)

			pub, ok := svid.PrivateKey.Public().(*ecdsa.PublicKey)
			require.True(t, ok)
			require.True(t, pub.Equal(leaf.PublicKey))

			// go-spiffe's own SVID validation accepts what we minted.
			certs, key, err := svid.MarshalRaw()
			require.NoError(t, err)
			_, err = x509svid.ParseRaw(certs, key)
			require.NoError(t, err)
		})
	}
}

func TestGetX509SVIDNeverReturnsExpired(t *testing.T) {
	const ttl = time.Minute
	tests := []struct {
		name    string
		advance func(notAfter, now time.Time) time.Duration
		wantErr error
	}{
		{name: "fresh", advance: func(time.Time, time.Time) time.Duration { return 0 }},
		{name: "one second before expiry", advance: func(na, now time.Time) time.Duration { return na.Sub(now) - time.Second }},
		{name: "exactly at NotAfter", advance: func(na, now time.Time) time.Duration { return na.Sub(now) }, wantErr: ErrExpired},
		{name: "past NotAfter", advance: func(na, now time.Time) time.Duration { return na.Sub(now) + time.Nanosecond }, wantErr: ErrExpired},
		{name: "long past NotAfter", advance: func(time.Time, time.Time) time.Duration { return 24 * time.Hour }, wantErr: ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := newTestSource(t, WithClock(clock.Now), WithSVIDTTL(ttl))
			first, err := s.GetX509SVID()
			require.NoError(t, err)

			clock.Advance(tt.advance(first.Certificates[0].NotAfter, clock.Now()))
			svid, err := s.GetX509SVID()
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Nil(t, svid)

				// A rotation under the advanced clock recovers.
				require.NoError(t, s.Rotate())
				svid, err = s.GetX509SVID()
				require.NoError(t, err)
				_, _, err = x509svid.Verify(svid.Certificates, s, x509svid.WithTime(clock.Now()))
				require.NoError(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, first.Certificates[0].SerialNumber, svid.Certificates[0].SerialNumber)
		})
	}
}

func TestGetX509SVIDReturnsCopy(t *testing.T) {
	s := newTestSource(t)
	a, err := s.GetX509SVID()
	require.NoError(t, err)
	want := a.Certificates[0]
	a.Certificates[0] = nil
	a.ID = spiffeid.RequireFromString("spiffe://evil.example/admin")

	b, err := s.GetX509SVID()
	require.NoError(t, err)
	require.Same(t, want, b.Certificates[0])
	require.Equal(t, s.ID(), b.ID)
}

func TestCloseIsIdempotentAndFailsClosed(t *testing.T) {
	s, err := NewDevSource(context.Background())
	require.NoError(t, err)
	id := s.ID()

	require.NoError(t, s.Close())
	require.NoError(t, s.Close())

	td := id.TrustDomain()
	calls := []struct {
		name string
		call func() error
	}{
		{"GetX509SVID", func() error { _, err := s.GetX509SVID(); return err }},
		{"FetchJWTSVID", func() error {
			_, err := s.FetchJWTSVID(context.Background(), jwtsvid.Params{Audience: "aud"})
			return err
		}},
		{"GetX509BundleForTrustDomain", func() error { _, err := s.GetX509BundleForTrustDomain(td); return err }},
		{"GetJWTBundleForTrustDomain", func() error { _, err := s.GetJWTBundleForTrustDomain(td); return err }},
		{"Rotate", s.Rotate},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorIs(t, c.call(), ErrClosed)
		})
	}
	require.Equal(t, id, s.ID(), "ID stays readable after Close")
}

func TestCloseConcurrent(t *testing.T) {
	s, err := NewDevSource(context.Background())
	require.NoError(t, err)
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- s.Close() }()
	}
	for range cap(errs) {
		require.NoError(t, <-errs)
	}
	_, err = s.GetX509SVID()
	require.ErrorIs(t, err, ErrClosed)
}

func TestZeroValueFailsClosed(t *testing.T) {
	var s DevSource
	_, err := s.GetX509SVID()
	require.ErrorIs(t, err, ErrClosed)
	_, err = s.FetchJWTSVID(context.Background(), jwtsvid.Params{Audience: "aud"})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, s.Rotate(), ErrClosed)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
}

func TestStringNeverShowsKeys(t *testing.T) {
	s := newTestSource(t, WithTrustDomain("example.org"), WithWorkloadPath("/agent/a"))
	const want = "identity.DevSource(spiffe://example.org/agent/a)"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		t.Run(verb, func(t *testing.T) {
			require.Equal(t, want, fmt.Sprintf(verb, s))
		})
	}
	var nilSource *DevSource
	require.Equal(t, "identity.DevSource(nil)", nilSource.String())
}
