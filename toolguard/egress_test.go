package toolguard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// The controls of the adversarial corpus: what the corpus refuses is
// refused for its reason, not because the setup cannot work at all.
func TestEgressAllowsWhatTheDecisionGrants(t *testing.T) {
	vic, hits := victim(t)
	target := "http://docs.example.com:" + port(t, vic) + "/"

	// A granted name that resolves to loopback is reached when the decision
	// allows private addresses, through the guarded dialer and through a
	// base transport of one's own.
	for _, guarded := range []bool{true, false} {
		base := &http.Transport{DialContext: resolverDialer(map[string]string{"docs.example.com": "127.0.0.1"}, guarded)}
		client := &http.Client{Transport: egress.Transport(base)}
		require.NoError(t, fetchWith(t, grantingDecider(true, "docs.example.com"), client, target))
		base.CloseIdleConnections()
	}
	require.EqualValues(t, 2, hits.Load())

	// A redirect to another granted host is followed (on the port the tool
	// asked for: one server answers both names here).
	var both *httptest.Server
	both = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Host, "docs.example.com") {
			http.Redirect(w, r, "http://api.example.com:"+port(t, both)+"/", http.StatusFound)
			return
		}
		hits.Add(1)
	}))
	defer both.Close()
	base := &http.Transport{DialContext: resolverDialer(map[string]string{"docs.example.com": "127.0.0.1", "api.example.com": "127.0.0.1"}, true)}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: egress.Transport(base)}
	require.NoError(t, fetchWith(t, grantingDecider(true, "docs.example.com", "API.Example.COM."), client, "http://docs.example.com:"+port(t, both)+"/"))
	require.EqualValues(t, 3, hits.Load())

	// An IP literal the decision granted is reached without allow_private:
	// the policy judged that very address.
	client = &http.Client{Transport: egress.Transport(&http.Transport{DialContext: egress.Dialer().DialContext})}
	require.NoError(t, fetchWith(t, grantingDecider(false, "127.0.0.1"), client, vic.URL))
	require.EqualValues(t, 4, hits.Load())
	// ... and in any notation.
	require.NoError(t, fetchWith(t, grantingDecider(false, "0x7f.1"), client, "http://2130706433:"+port(t, vic)+"/"))
	require.EqualValues(t, 5, hits.Load())
}

func TestEgressRefusesHostHeaderAndNonHTTP(t *testing.T) {
	vic, hits := victim(t)
	f := newFixture(t, toolguard.WithDecider(grantingDecider(false, "127.0.0.1")))
	client := &http.Client{Transport: egress.Transport(vic.Client().Transport)}
	fn, err := toolguard.Wrap(f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read}, func(ctx context.Context, _ DocArgs) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, vic.URL, nil)
		if err != nil {
			return "", err
		}
		req.Host = "internal.example" // virtual host behind the granted front end
		_, err = client.Do(req)
		return "", err
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), DocArgs{})
	require.ErrorContains(t, err, "Host header")
	require.Zero(t, hits.Load())
}

func TestDialControlOutsideAGuardedCall(t *testing.T) {
	vic, hits := victim(t)
	_, err := egress.Dialer().DialContext(context.Background(), "tcp", vic.Listener.Addr().String())
	require.ErrorContains(t, err, "not within a guarded call")
	require.Zero(t, hits.Load())
}

// The nil-base transport dials through Dialer: a granted name that is
// loopback (here "localhost", resolved by the system without network) is
// refused at dial time.
func TestDefaultTransportDialsThroughDialControl(t *testing.T) {
	vic, hits := victim(t)
	client := &http.Client{Transport: egress.Transport(nil), Timeout: 10 * time.Second}
	err := fetchWith(t, grantingDecider(false, "localhost"), client, "http://localhost:"+port(t, vic)+"/")
	require.ErrorContains(t, err, "toolguard: egress")
	require.Zero(t, hits.Load())
}

func TestAllowPrivateIsParsedStrictly(t *testing.T) {
	for src, want := range map[string]bool{
		`decision := {"allow": true, "egress": {"hosts": ["a"], "allow_private": true}}`: true,
		`decision := {"allow": true, "egress": {"hosts": ["a"]}}`:                        false,
	} {
		eng, err := authz.New(context.Background(), authz.WithModule("p.rego", "package p\n"+src), authz.WithQuery("data.p.decision"))
		require.NoError(t, err)
		d, err := eng.Decide(context.Background(), &authz.Input{})
		require.NoError(t, err)
		require.Equal(t, want, d.Egress.AllowPrivate)
		require.NoError(t, eng.Close())
	}
}

func TestOpenFileOnlyThroughTheGrantedRoot(t *testing.T) {
	base, root := pathTree(t)
	f := newFixture(t)
	var got []byte
	var errs []error
	fn, err := toolguard.WrapJSON(f.guard, readDocTool(root), func(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
		var a struct{ Path string }
		require.NoError(t, json.Unmarshal(args, &a))
		b, err := egress.ReadFile(ctx, a.Path)
		got = b
		for _, other := range []string{"notes/../../secret", filepath.Join(base, "secret"), filepath.Join(base, "data2", "loot.md"), "leak", "inner/secret"} {
			_, err := egress.ReadFile(ctx, other)
			errs = append(errs, err)
		}
		return nil, err
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), mustJSON(t, map[string]string{"path": filepath.Join(root, "notes", "a.txt")}))
	require.NoError(t, err)
	require.Equal(t, "ok", string(got))
	for _, e := range errs {
		require.Error(t, e, "only the authorized path opens")
	}
	// A directory grant covers what is below it, still through os.Root.
	fn, err = toolguard.WrapJSON(f.guard, readDocTool(root), func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		b, err := egress.ReadFile(ctx, "notes/a.txt")
		got = b
		return nil, err
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), mustJSON(t, map[string]string{"path": "notes"}))
	require.NoError(t, err)
	require.Equal(t, "ok", string(got))

	_, err = egress.ReadFile(context.Background(), filepath.Join(root, "notes", "a.txt"))
	require.ErrorContains(t, err, "not within a guarded call")
	_, err = os.Stat(filepath.Join(root, "notes", "a.txt"))
	require.NoError(t, err)
}

// TOCTOU: the tool runs on the frozen copy the policy judged. Changing the
// caller's value after the decision changes nothing, and the digest in the
// record is the digest of exactly what the tool received.
func TestToolRunsOnTheFrozenAuthorizedCopy(t *testing.T) {
	args := DocArgs{URL: "https://docs.example.com/a", Tags: map[string]string{"k": "v"}}
	var seenInput *authz.Input
	eng := testEngine(t)
	dec := deciderFunc(func(ctx context.Context, in *authz.Input) (authz.Decision, error) {
		d, err := eng.Decide(ctx, in)
		// The caller's value changes after the decision, before the tool runs.
		args.URL = "https://evil.example/"
		args.Tags["k"] = "tampered"
		seenInput = in
		return d, err
	})
	f := newFixture(t, toolguard.WithDecider(dec), toolguard.WithArgsDigestKey(testDigestKey))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err := fetch(context.Background(), args)
	require.NoError(t, err)
	require.Equal(t, "https://docs.example.com/a", p.args.URL)
	require.Equal(t, map[string]string{"k": "v"}, p.args.Tags)

	ran, err := json.Marshal(p.args)
	require.NoError(t, err)
	var canon any
	require.NoError(t, json.Unmarshal(ran, &canon))
	ranCanon, err := json.Marshal(canon)
	require.NoError(t, err)
	rec := f.sink.last(t)
	require.Equal(t, argsDigestOf(ranCanon), rec.ArgsDigest, "the record's digest is the digest of what ran")
	require.Equal(t, seenInput.Call.ArgsDigest, rec.ArgsDigest)
	require.JSONEq(t, string(ranCanon), string(seenInput.Call.Args))

	// WrapJSON: the raw bytes the caller holds change after the decision.
	raw := []byte(`{"url":"https://docs.example.com/b"}`)
	var got json.RawMessage
	dec2 := deciderFunc(func(ctx context.Context, in *authz.Input) (authz.Decision, error) {
		copy(raw[9:], "http://evil.example/")
		return eng.Decide(ctx, in)
	})
	f2 := newFixture(t, toolguard.WithDecider(dec2), toolguard.WithArgsDigestKey(testDigestKey))
	fn, err := toolguard.WrapJSON(f2.guard, fetchTool, func(_ context.Context, a json.RawMessage) (json.RawMessage, error) {
		got = a
		return nil, nil
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), raw)
	require.NoError(t, err)
	require.JSONEq(t, `{"url":"https://docs.example.com/b"}`, string(got))
	require.Equal(t, argsDigestOf(got), f2.sink.last(t).ArgsDigest)
}

// With nested roots, a path is opened through the root of the declaration
// that derived it, not through an outer root that also contains it: a
// symlink swapped in after the decision may not reach what the outer root
// holds.
func TestOpenFileUsesTheRootThatDerivedThePath(t *testing.T) {
	outer := t.TempDir()
	inner := filepath.Join(outer, "data")
	require.NoError(t, os.Mkdir(inner, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outer, "secret"), []byte("secret"), 0o600))
	target := filepath.Join(inner, "x.txt")
	require.NoError(t, os.WriteFile(target, []byte("ok"), 0o600))

	f := newFixture(t)
	tool := toolguard.Tool{Name: "read_doc", Effect: toolguard.Read,
		Destinations: []toolguard.Dest{toolguard.PathArg("outer", outer).Optional(), toolguard.PathArg("inner", inner)}}
	var before, after []byte
	var afterErr error
	fn, err := toolguard.WrapJSON(f.guard, tool, func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		var err error
		if before, err = egress.ReadFile(ctx, target); err != nil {
			return nil, err
		}
		// Swapped after the decision: now a symlink to the outer root's secret.
		if err := os.Remove(target); err != nil {
			return nil, err
		}
		if err := os.Symlink(filepath.Join("..", "secret"), target); err != nil {
			return nil, err
		}
		after, afterErr = egress.ReadFile(ctx, target)
		return nil, nil
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), mustJSON(t, map[string]string{"inner": target}))
	require.NoError(t, err)
	require.Equal(t, "ok", string(before))
	require.Error(t, afterErr, "read %q through the outer root", after)
	require.Empty(t, after)
}

// A grant ends when its call returns: a context the tool keeps, or a
// goroutine it leaves running, reaches nothing after the call's credential
// is revoked and its record written.
func TestGrantEndsWithTheCall(t *testing.T) {
	vic, hits := victim(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o600))
	f := newFixture(t, toolguard.WithDecider(grantingDecider(true, "127.0.0.1")))
	tool := toolguard.Tool{Name: "read_doc", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.PathArg("path", dir)}}
	var kept context.Context
	fn, err := toolguard.Wrap(f.guard, tool, func(ctx context.Context, a struct {
		Path string `json:"path"`
	}) (int, error) {
		kept = ctx
		// During the call, everything granted works.
		if _, ok := egress.AllowedHosts(ctx); !ok {
			t.Error("no grant during the call")
		}
		if _, err := egress.ReadFile(ctx, a.Path); err != nil {
			t.Error(err)
		}
		return 0, nil
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), struct {
		Path string `json:"path"`
	}{Path: "a.txt"})
	require.NoError(t, err)

	hosts, ok := egress.AllowedHosts(kept)
	require.False(t, ok)
	require.Empty(t, hosts)
	req, err := http.NewRequestWithContext(kept, http.MethodGet, vic.URL, nil)
	require.NoError(t, err)
	_, err = (&http.Client{Transport: egress.Transport(nil)}).Do(req)
	require.ErrorContains(t, err, "the guarded call has returned")
	require.Zero(t, hits.Load())
	_, err = egress.ReadFile(kept, "a.txt")
	require.ErrorContains(t, err, "the guarded call has returned")
	require.ErrorContains(t, egress.DialControl(kept, "tcp", "127.0.0.1:80", nil), "the guarded call has returned")
}

// A path authorized while it was a plain file, replaced by a symlink to
// another file inside the same root before the tool opens it, is refused:
// the policy judged the path, not where the symlink leads.
func TestOpenFileRefusesASymlinkSwappedInInsideTheRoot(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "public"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "private"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "private", "secret"), []byte("secret"), 0o600))
	report := filepath.Join(root, "public", "report.txt")
	require.NoError(t, os.WriteFile(report, []byte("report"), 0o600))

	f := newFixture(t)
	var read []byte
	var readErr error
	fn, err := toolguard.WrapJSON(f.guard, readDocTool(root), func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		require.NoError(t, os.Remove(report))
		require.NoError(t, os.Symlink(filepath.Join("..", "private", "secret"), report))
		read, readErr = egress.ReadFile(ctx, "public/report.txt")
		return nil, nil
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), mustJSON(t, map[string]string{"path": "public/report.txt"}))
	require.NoError(t, err)
	require.ErrorContains(t, readErr, "symlink")
	require.Empty(t, read)
}

// A grant names hosts, not ports: a redirect (chosen by the server, not the
// tool) may go only to the port the tool asked for or the default one, and
// never from https to http. (The default ports are checked in
// TestCheckRedirectHop: a test cannot listen on 80 or 443.)
func TestEgressRedirectKeepsThePort(t *testing.T) {
	internal, internalHits := victim(t) // say, the host's Redis
	same, sameHits := victim(t)
	var to string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/here" {
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	}))
	defer front.Close()
	client := &http.Client{Transport: egress.Transport(&http.Transport{DialContext: egress.Dialer().DialContext})}
	decider := grantingDecider(false, "127.0.0.1")

	to = internal.URL + "/"
	err := fetchWith(t, decider, client, front.URL+"/")
	require.ErrorContains(t, err, "a redirect to port "+port(t, internal)+" of 127.0.0.1; the request was made to port "+port(t, front))
	require.Zero(t, internalHits.Load())

	to = front.URL + "/here"
	require.NoError(t, fetchWith(t, decider, client, front.URL+"/"), "same host, same port")

	to = "http://127.0.0.1:" + port(t, same) + "/"
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusFound)
	}))
	defer tls.Close()
	base := tls.Client().Transport.(*http.Transport).Clone()
	base.DialContext = egress.Dialer().DialContext
	err = fetchWith(t, decider, &http.Client{Transport: egress.Transport(base)}, tls.URL+"/")
	require.ErrorContains(t, err, "from https to http")
	require.Zero(t, sameHits.Load())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A base transport that does not say which request a response answers (a
// wrapper, a mock) still has its redirects checked.
func TestEgressRedirectCheckedWithAnyBase(t *testing.T) {
	var reached []string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		reached = append(reached, r.URL.Host)
		h := http.Header{}
		h.Set("Location", "http://127.0.0.1:6379/")
		return &http.Response{StatusCode: http.StatusFound, Header: h, Body: http.NoBody}, nil
	})
	err := fetchWith(t, grantingDecider(false, "127.0.0.1"), &http.Client{Transport: egress.Transport(base)}, "http://127.0.0.1:8080/")
	require.ErrorContains(t, err, "a redirect to port 6379")
	require.Equal(t, []string{"127.0.0.1:8080"}, reached)
}
