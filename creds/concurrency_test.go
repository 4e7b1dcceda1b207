package creds

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConcurrentIssueRevokeVerify is mainly for -race: one minter, many
// goroutines each running the per-call life cycle while time moves on.
func TestConcurrentIssueRevokeVerify(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk) // 60s TTL; the clock moves 5s in total
	v := m.Verifier()

	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for range workers {
		wg.Go(func() {
			for range rounds {
				c, err := m.Issue(ctx, testRequest())
				if err != nil {
					errs <- err
					return
				}
				if _, err := v.Verify(ctx, c.Token(), c.Audience); err != nil {
					errs <- err
					return
				}
				if err := m.Revoke(ctx, c.ID); err != nil {
					errs <- err
					return
				}
				if _, err := v.Verify(ctx, c.Token(), c.Audience); err == nil {
					errs <- errUnexpectedAccept
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			clk.Advance(100 * time.Millisecond)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

var errUnexpectedAccept = errors.New("revoked credential verified")
