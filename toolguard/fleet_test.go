package toolguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/authz/bundleserver"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/internal/bundletest"
	"github.com/ztagent/ztagent/toolguard"
)

// fleetSize is how many guards the kill-switch test runs in one process.
const fleetSize = 50

// The fleet's kill switch: 50 guards, each with its own engine polling one
// bundle server with long polls; a bundle that suspends their agent is
// published, and every guard denies its next call. The delays between
// plain polls are a minute, so only long polling can make it fast.
func TestFleetKillSwitch(t *testing.T) {
	ctx := context.Background()
	key := bundletest.NewKey(t)
	signing := bundleserver.SigningKey{PEM: key.Private, Algorithm: "ES256"}
	publicPEM := key.Public

	srv, err := bundleserver.New()
	require.NoError(t, err)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	publish := func(data string) {
		raw, err := bundleserver.Sign(bundleserver.Bundle{Modules: authz.DefaultPolicy(), Data: []byte(data)}, signing)
		require.NoError(t, err)
		_, err = srv.Publish(raw)
		require.NoError(t, err)
	}
	publish(string(policyData))

	type member struct {
		fleetMember
		fetch func(context.Context, DocArgs) (string, error)
	}
	fleet := make([]member, fleetSize)
	var wg sync.WaitGroup
	errs := make(chan error, fleetSize)
	for i := range fleet {
		wg.Go(func() {
			m, err := newFleetMember(ctx, hs.URL, publicPEM)
			if err != nil {
				errs <- err
				return
			}
			fleet[i].fleetMember = m
			fleet[i].fetch, err = toolguard.Wrap(m.guard, fetchTool, func(context.Context, DocArgs) (string, error) { return "ok", nil })
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, m := range fleet {
			if m.eng != nil {
				m.close(ctx)
			}
		}
	})
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	args := DocArgs{URL: "https://docs.example.com/a"}
	for _, m := range fleet {
		_, err := m.fetch(ctx, args)
		require.NoError(t, err, "before the suspension every guard allows")
	}
	require.Eventually(t, func() bool { return srv.Waiting() == fleetSize }, 30*time.Second, 10*time.Millisecond,
		"every engine holds a poll")

	// Each guard calls once as soon as its engine has loaded a new policy.
	reloaded := make([]chan struct{}, fleetSize)
	for i, m := range fleet {
		ch := make(chan struct{}, 1)
		reloaded[i] = ch
		stop := m.eng.Watch(func(ev authz.ReloadEvent) {
			if ev.Err == nil {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		})
		t.Cleanup(stop)
	}
	start := time.Now()
	publish(`{"agents": ` + agentsOf(t) + `, "suspended": {"agents": ["` + agentID + `"]}}`)
	took := make([]time.Duration, fleetSize)
	denied := make(chan error, fleetSize)
	for i, m := range fleet {
		wg.Go(func() {
			select {
			case <-reloaded[i]:
			case <-time.After(time.Minute):
			}
			_, err := m.fetch(ctx, args)
			took[i] = time.Since(start)
			denied <- err
		})
	}
	wg.Wait()
	close(denied)
	for err := range denied {
		requireDenied(t, err, toolguard.CodeAgentSuspended)
	}
	slowest := time.Duration(0)
	for _, d := range took {
		slowest = max(slowest, d)
	}
	t.Logf("%d guards denied the suspended agent at most %s after the bundle was published", fleetSize, slowest)
	require.Less(t, slowest, time.Minute, "not by plain polling: its delays are a minute")
}

// agentsOf is the agents grant of policyData, kept in the suspending bundle.
func agentsOf(t *testing.T) string {
	t.Helper()
	var doc struct{ Agents json.RawMessage }
	require.NoError(t, json.Unmarshal(policyData, &doc))
	return string(doc.Agents)
}

type fleetMember struct {
	guard *toolguard.Guard
	eng   *authz.Engine
	id    *identity.DevSource
}

func (m fleetMember) close(ctx context.Context) {
	if m.guard != nil {
		_ = m.guard.Close(ctx)
	}
	_ = m.eng.Close()
	_ = m.id.Close()
}

// newFleetMember builds what one replica of an agent runs: its identity,
// credentials, and an engine on the fleet's signed bundle.
func newFleetMember(ctx context.Context, url, publicKey string) (fleetMember, error) {
	start, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	eng, err := authz.New(start, authz.WithTimeout(30*time.Second), authz.WithBundle(authz.BundleConfig{
		URL: url, Resource: "bundles/authz.tar.gz", PublicKey: publicKey, Algorithm: "ES256",
		MinDelay: time.Minute, MaxDelay: time.Minute, LongPoll: 30 * time.Second,
	}))
	if err != nil {
		return fleetMember{}, err
	}
	id, err := identity.NewDevSource(ctx, identity.WithWorkloadPath("/agent/test"))
	if err != nil {
		return fleetMember{}, errors.Join(err, eng.Close())
	}
	minter, err := creds.NewMinter()
	if err != nil {
		return fleetMember{}, errors.Join(err, eng.Close(), id.Close())
	}
	g, err := toolguard.New(ctx, toolguard.WithIdentity(id), toolguard.WithCredentialIssuer(minter), toolguard.WithDecider(eng),
		toolguard.WithTracerProvider(noop.NewTracerProvider()), toolguard.WithSink(&memSink{}))
	if err != nil {
		return fleetMember{}, errors.Join(err, eng.Close(), id.Close())
	}
	return fleetMember{guard: g, eng: eng, id: id}, nil
}
