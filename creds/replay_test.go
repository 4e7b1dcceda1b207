package creds

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestVerifierReplayCheck(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	v := m.Verifier(WithReplayCheck(), WithReplayCapacity(2))
	c, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)

	// A token refused for another reason is not used up.
	_, err = v.Verify(ctx, c.Token(), "https://other.example.com")
	require.ErrorIs(t, err, ErrAudience)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.NoError(t, err)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.ErrorIs(t, err, ErrReplayed)

	// Bounded: a full cache fails closed rather than forget a live id.
	c2, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	c3, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	_, err = v.Verify(ctx, c2.Token(), c2.Audience)
	require.NoError(t, err)
	_, err = v.Verify(ctx, c3.Token(), c3.Audience)
	require.ErrorIs(t, err, errReplayFull)
	require.NotErrorIs(t, err, ErrReplayed)

	// Ids are forgotten once their tokens expire (plus leeway): memory stays
	// bounded by live tokens.
	clk.Advance(c.TTL())
	c4, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	_, err = v.Verify(ctx, c4.Token(), c4.Audience)
	require.NoError(t, err)
	require.Equal(t, 1, v.replay.len())
}

func TestReplayCacheConcurrentSingleWinner(t *testing.T) {
	rc := newReplayCache(10)
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- rc.use("id", t0.Add(time.Minute), t0) }()
	}
	ok := 0
	for range 8 {
		if <-errs == nil {
			ok++
		}
	}
	require.Equal(t, 1, ok, "exactly one concurrent use wins")
}

func TestReplayCapacityValidated(t *testing.T) {
	_, err := NewVerifier(mustKey(t).Public().(ed25519.PublicKey), "iss", NoRevocationCheck(), WithReplayCheck(), WithReplayCapacity(0))
	require.ErrorContains(t, err, "replay capacity")
}
