// Command bundleserver serves a fleet of guards their policy: the default
// policy with your data (grants, budgets, the kill switch), as a bundle it
// signs, to every engine polling it with authz.BundleConfig.LongPoll. Edit
// the data file and every guard has the new policy about one round trip
// later; that is how an agent is suspended fleet-wide.
//
//	go run ./examples/bundleserver -data data.json -signing-key bundle-signing.pem
//
// The key is the private half of the BundleConfig.PublicKey every engine
// holds (ES256 by default; -alg names another). The data file is read again
// every second; a file that is not a JSON object is reported and the
// bundle in force keeps being served.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/authz/bundleserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "bundleserver:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	listen, resource, dataPath, keyPath, alg, keyID string
	maxWait, reread                                 time.Duration
}

func parse(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bundleserver", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8181", "address to serve on")
	fs.StringVar(&c.resource, "resource", "/bundles/authz.tar.gz", "path of the bundle (BundleConfig.Resource)")
	fs.StringVar(&c.dataPath, "data", "", "the policy data, a JSON object (required)")
	fs.StringVar(&c.keyPath, "signing-key", "", "PEM private key bundles are signed with (required)")
	fs.StringVar(&c.alg, "alg", "ES256", "signature algorithm (BundleConfig.Algorithm)")
	fs.StringVar(&c.keyID, "kid", "global", "key id (BundleConfig.KeyID)")
	fs.DurationVar(&c.maxWait, "max-wait", bundleserver.DefaultMaxWait, "longest a poll is held")
	fs.DurationVar(&c.reread, "reread", time.Second, "how often the data file is read again")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.dataPath == "" || c.keyPath == "":
		return c, errors.New("-data and -signing-key are required")
	case c.reread <= 0:
		return c, errors.New("-reread must be positive")
	}
	return c, nil
}

// run serves until ctx ends. ready, when not nil, receives the bundle's URL
// once it is served.
func run(ctx context.Context, args []string, log io.Writer, ready chan<- string) error {
	c, err := parse(args, log)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(c.keyPath)
	if err != nil {
		return err
	}
	srv, err := bundleserver.New(bundleserver.WithMaxWait(c.maxWait))
	if err != nil {
		return err
	}
	p := publisher{srv: srv, key: bundleserver.SigningKey{PEM: string(key), Algorithm: c.alg, KeyID: c.keyID}, path: c.dataPath, log: log}
	if err := p.publish(); err != nil {
		return err // nothing to serve yet: say so rather than serve 404s
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+c.resource, srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String() + c.resource
	fmt.Fprintf(log, "serving %s\n", url)
	if ready != nil {
		ready <- url
	}

	t := time.NewTicker(c.reread)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := p.publish(); err != nil {
				fmt.Fprintf(log, "%s: %v; still serving the last bundle\n", c.dataPath, err)
			}
		case err := <-served:
			return err
		case <-ctx.Done():
			srv.Close() // answer held polls now, so Shutdown need not wait for them
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return hs.Shutdown(sctx)
		}
	}
}

// publisher signs and publishes the data file whenever it changes.
type publisher struct {
	srv  *bundleserver.Server
	key  bundleserver.SigningKey
	path string
	log  io.Writer
	last string // the data last published
}

func (p *publisher) publish() error {
	data, err := os.ReadFile(p.path)
	if err != nil {
		return err
	}
	if string(data) == p.last {
		return nil
	}
	raw, err := bundleserver.Sign(bundleserver.Bundle{Modules: authz.DefaultPolicy(), Data: data}, p.key)
	if err != nil {
		return err
	}
	etag, err := p.srv.Publish(raw)
	if err != nil {
		return err
	}
	p.last = string(data)
	fmt.Fprintf(p.log, "published %s (%d bytes)\n", etag, len(raw))
	return nil
}
