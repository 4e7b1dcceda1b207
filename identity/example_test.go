package identity_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/ztagent/ztagent/identity"
)

// A DevSource gives the agent a short-lived SPIFFE identity and is also the
// bundle source that verifies it, so go-spiffe's verifiers work unchanged.
func Example() {
	ctx := context.Background()
	src, err := identity.NewDevSource(ctx,
		identity.WithTrustDomain("example.org"),
		identity.WithWorkloadPath("/agent/support"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	svid, err := src.GetX509SVID()
	if err != nil {
		log.Fatal(err)
	}
	id, _, err := x509svid.Verify(svid.Certificates, src)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("x509-svid:", id)

	const aud = "https://mail.example.com"
	tok, err := src.FetchJWTSVID(ctx, jwtsvid.Params{Audience: aud})
	if err != nil {
		log.Fatal(err)
	}
	jwt, err := jwtsvid.ParseAndValidate(tok.Marshal(), src, []string{aud})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("jwt-svid:", jwt.ID, jwt.Audience)

	_, err = jwtsvid.ParseAndValidate(tok.Marshal(), src, []string{"https://bank.example.com"})
	fmt.Println("other audience accepted:", err == nil)

	// Output:
	// x509-svid: spiffe://example.org/agent/support
	// jwt-svid: spiffe://example.org/agent/support [https://mail.example.com]
	// other audience accepted: false
}

// An expired SVID is never handed out: the caller gets ErrExpired and denies.
func ExampleDevSource_GetX509SVID() {
	// A settable clock; atomic because the source may read it from its
	// rotation goroutine.
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }

	src, err := identity.NewDevSource(context.Background(),
		identity.WithSVIDTTL(time.Minute),
		identity.WithClock(clock),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	_, err = src.GetX509SVID()
	fmt.Println("fresh:", err)

	now.Add(int64(2 * time.Minute)) // no rotation happened in between
	_, err = src.GetX509SVID()
	fmt.Println("later:", err, errors.Is(err, identity.ErrExpired))

	// Output:
	// fresh: <nil>
	// later: identity: svid expired true
}
