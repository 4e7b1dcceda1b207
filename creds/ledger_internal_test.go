package creds

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Ids the minter makes are stored as their 16 bytes; any other id by a
// digest and its name. Both come back by name, and never meet.
func TestLedgerKeepsEveryKindOfID(t *testing.T) {
	ours := newTokenID()
	require.False(t, keyOf(ours).hashed)
	foreign := []string{
		"3f2a1c9e-0b7d-4e55-9a61-2c4d8f0e7b13", // a UUID, as SPIRE and others use
		"AAAAAAAAAAAAAAAAAAAAAB",               // 22 characters, but the last one sets padding bits
		"AAAAAAAAAAAAAAAAAAAA+/",               // 22 characters, not base64url
		"", "x", strings.Repeat("y", 300),
	}
	for _, id := range foreign {
		require.True(t, keyOf(id).hashed, "%q", id)
	}
	require.NotEqual(t, keyOf("AAAAAAAAAAAAAAAAAAAAAA"), keyOf("AAAAAAAAAAAAAAAAAAAAAB"))

	l := newLedger()
	now := time.Unix(1_800_000_000, 0)
	for _, id := range append([]string{ours}, foreign...) {
		require.True(t, l.add(id, now.Add(time.Minute), now), "%q", id)
		require.False(t, l.add(id, now.Add(time.Minute), now), "%q twice", id)
		require.False(t, l.isRevoked(id))
		require.True(t, l.revoke(id, now))
		require.True(t, l.isRevoked(id))
	}
	var names []string
	for _, e := range l.revokedList(now) {
		names = append(names, e.ID)
		require.Equal(t, now.Add(time.Minute-maxLeeway), e.Exp)
	}
	require.ElementsMatch(t, append([]string{ours}, foreign...), names)

	// Past forgetAt everything is forgotten, revocations included.
	require.False(t, l.revoke("unknown", now))
	l.pruneLocked(now.Add(time.Minute))
	require.Zero(t, l.len())
	require.Empty(t, l.revoked)
}

// A token that claims to live past 2262 (out of int64 nanoseconds) is
// remembered, not forgotten at once by an overflow.
func TestReplayCacheFarFutureExpiry(t *testing.T) {
	r := newReplayCache(10)
	now := time.Unix(1_800_000_000, 0)
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, r.use("jti-1", far, now))
	require.ErrorIs(t, r.use("jti-1", far, now.Add(time.Hour)), ErrReplayed)
	require.Equal(t, int64(-1<<63), nanos(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)))
}

// The typed heap gives the keys in order of their times, whatever the order
// they came in, and keeps the rest.
func TestForgetQueueOrder(t *testing.T) {
	var q forgetQueue
	r := rand.New(rand.NewPCG(3, 4))
	var want []int64
	for i := range 500 {
		at := r.Int64N(1000)
		want = append(want, at)
		var k idKey
		k.b[0], k.b[1] = byte(i), byte(i>>8)
		q.push(forgetItem{at: at, key: k})
	}
	slices.Sort(want)
	var got []int64
	byKey := map[idKey]int64{}
	for _, it := range q {
		byKey[it.key] = it.at
	}
	q.popUntil(time.Unix(0, 499), func(k idKey) { got = append(got, byKey[k]) })
	n := len(got)
	require.Equal(t, want[:n], got)
	require.Len(t, q, len(want)-n)
	for _, it := range q {
		require.Greater(t, it.at, int64(499))
	}
	q.popUntil(time.Unix(0, 1000), func(k idKey) { got = append(got, byKey[k]) })
	require.Equal(t, want, got)
	require.Empty(t, q)
}
