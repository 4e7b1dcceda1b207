// Command toolbackend shows the resource-server side of ztagent credentials:
// a tiny "mail API" protected by creds.Middleware, verifying tokens against a
// minter that runs elsewhere (here: another loopback server in the same
// program) through its JWKS and revocation list, and a guarded tool calling
// it through creds.Transport, which attaches the call's credential only to
// the credential's audience.
//
//	go run ./examples/toolbackend
//
// It prints one row per scripted call: an allowed call, the same token
// replayed, a revoked token, a token minted for another audience, and a call
// the transport refuses because it is not to the credential's audience.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ztagent/ztagent/creds"
)

const agent = "spiffe://example.org/agent/support"

func main() {
	if _, err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "toolbackend:", err)
		os.Exit(1)
	}
}

// outcome is one row of the table.
type outcome struct {
	Call   string
	Status int    // HTTP status from the mail API; 0 if nothing was sent
	Result string // the API's answer or the refusal reason
}

func run(ctx context.Context, w io.Writer) ([]outcome, error) {
	// The issuer side: a minter serving its JWKS and revocation list.
	m, err := creds.NewMinter(creds.WithIssuer("https://sts.example.org"))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/jwks", m.JWKSHandler())
	mux.Handle("/revoked", m.RevocationListHandler())
	sts := httptest.NewServer(mux)
	defer sts.Close()

	// The resource server: its audience is its own origin, known before it
	// starts, so listen first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	audience := "https://" + ln.Addr().String()
	revocations, err := creds.RemoteRevocations(ctx, sts.URL+"/revoked", creds.WithHTTPClient(sts.Client()))
	if err != nil {
		ln.Close()
		return nil, err
	}
	defer revocations.Close()
	verifier, err := creds.NewRemoteVerifier(ctx, sts.URL+"/jwks", m.Issuer(),
		creds.WithHTTPClient(sts.Client()), creds.WithRevocationChecker(revocations))
	if err != nil {
		ln.Close()
		return nil, err
	}
	defer verifier.Close()
	mail := httptest.NewUnstartedServer(creds.Middleware(verifier, audience)(http.HandlerFunc(inbox)))
	mail.Listener.Close()
	mail.Listener = ln
	mail.StartTLS()
	defer mail.Close()

	// The tool side: every request goes through the binding transport.
	tool := &http.Client{Transport: creds.Transport(mail.Client().Transport)}
	strict := &http.Client{Transport: creds.Transport(mail.Client().Transport, creds.RefuseUnbound())}
	issue := func(aud string) (*creds.Credential, error) {
		return m.Issue(ctx, creds.Request{Subject: agent, Audience: aud, Scopes: []string{"email:read"},
			Delegation: []string{"user:alice@example.com"}})
	}

	var out []outcome
	call := func(name string, client *http.Client, c *creds.Credential, url, authorization string) error {
		req, err := http.NewRequestWithContext(creds.NewContext(ctx, c), http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := client.Do(req)
		if errors.Is(err, creds.ErrUnbound) {
			out = append(out, outcome{name, 0, "refused by the transport: not the credential's audience"})
			return nil
		}
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		if err != nil {
			return err
		}
		out = append(out, outcome{name, resp.StatusCode, strings.TrimSpace(string(body))})
		return nil
	}

	c, err := issue(audience)
	if err != nil {
		return nil, err
	}
	steps := []func() error{
		func() error { return call("allowed", tool, c, audience+"/messages", "") },
		func() error { return call("same token again (replay)", tool, c, audience+"/messages", "") },
		func() error {
			r, err := issue(audience)
			if err != nil {
				return err
			}
			if err := m.Revoke(ctx, r.ID); err != nil {
				return err
			}
			// Polled every 5s; fetched now so the example does not wait.
			if err := revocations.Refresh(ctx); err != nil {
				return err
			}
			return call("revoked token", tool, r, audience+"/messages", "")
		},
		func() error {
			// The transport will not send a calendar token to the mail host;
			// a tool that attaches it by hand is refused by the mail API.
			cal, err := issue("https://calendar.example.com")
			if err != nil {
				return err
			}
			return call("token for another audience", tool, cal, audience+"/messages", "Bearer "+cal.Token())
		},
		func() error {
			r, err := issue(audience)
			if err != nil {
				return err
			}
			return call("mail credential, other host", strict, r, sts.URL+"/jwks", "")
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALL\tSTATUS\tRESULT")
	for _, o := range out {
		status := "-"
		if o.Status != 0 {
			status = fmt.Sprint(o.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Call, status, o.Result)
	}
	return out, tw.Flush()
}

// inbox is the protected API: by the time it runs, the middleware has
// verified the token and left its claims in the context.
func inbox(w http.ResponseWriter, r *http.Request) {
	c, _ := creds.ClaimsFromContext(r.Context())
	fmt.Fprintf(w, "3 messages for %s (read by %s, scopes %v)\n", c.Subject, c.Agent(), c.Scopes)
}
