package toolguard_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// adversarialCase is one line of testdata/adversarial/corpus.jsonl.
type adversarialCase struct {
	ID       string `json:"id"`
	Category string `json:"category"`
	Run      string `json:"run"`
	Input    string `json:"input"`
	Expect   string `json:"expect"`
	Source   string `json:"source"`
}

func loadCorpus(t *testing.T) []adversarialCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "adversarial", "corpus.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var out []adversarialCase
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c adversarialCase
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&c), "line %d", n)
		require.False(t, seen[c.ID], "duplicate id %s", c.ID)
		seen[c.ID] = true
		require.NotEmpty(t, c.Category, c.ID)
		require.NotEmpty(t, c.Expect, c.ID)
		require.NotEmpty(t, c.Source, "%s: every case names the advisory or reference it comes from", c.ID)
		out = append(out, c)
	}
	require.NoError(t, sc.Err())
	return out
}

// TestAdversarialCorpus runs every case of the corpus. The bar: no case
// reaches the tool — a guarded tool function never runs, and where the
// attack is on the tool's own traffic (redirects, rebinding, tokens,
// replay), the forbidden destination receives nothing.
func TestAdversarialCorpus(t *testing.T) {
	corpus := loadCorpus(t)
	require.GreaterOrEqual(t, len(corpus), 40)
	runners := map[string]func(t *testing.T, c adversarialCase){
		"url":                  runURLCase,
		"email":                runEmailCase,
		"args":                 runArgsCase,
		"path":                 runPathCase,
		"swap":                 runSwapCase,
		"argv":                 runArgvCase,
		"redirect":             runRedirectCase,
		"rebind":               runRebindCase(false, true),
		"rebind-allow-private": runRebindCase(true, true),
		"rebind-own-dialer":    runRebindCase(false, false),
		"token":                runTokenCase,
		"token-refuse":         runTokenCase,
		"token-redirect":       runTokenCase,
		"replay":               runReplayCase,
		"decl":                 runDeclCase,
		"typed-links":          runTypedLinksCase,
		"redact":               runRedactCase,
		"task-ended":           runTaskEndedCase,
		"task-ttl":             runTaskTTLCase,
		"recipient":            runRecipientCase,
		"policy":               runPolicyCase,
	}
	byCategory := map[string]int{}
	for _, c := range corpus {
		run, ok := runners[c.Run]
		require.True(t, ok, "%s: unknown runner %q", c.ID, c.Run)
		byCategory[c.Category]++
		t.Run(c.ID, func(t *testing.T) {
			t.Logf("%s %q (source: %s)", c.Category, c.Input, c.Source)
			run(t, c)
		})
	}
	t.Logf("corpus: %d cases by category: %v", len(corpus), byCategory)
}

// guardedProbe wraps a JSON tool whose running is counted.
func guardedProbe(t *testing.T, g *toolguard.Guard, tool toolguard.Tool) (func(context.Context, json.RawMessage) (json.RawMessage, error), *atomic.Int32) {
	t.Helper()
	var ran atomic.Int32
	fn, err := toolguard.WrapJSON(g, tool, func(context.Context, json.RawMessage) (json.RawMessage, error) {
		ran.Add(1)
		return json.RawMessage(`"ran"`), nil
	})
	require.NoError(t, err)
	return fn, &ran
}

func requireNeverRan(t *testing.T, ran *atomic.Int32, err error, code string) {
	t.Helper()
	requireDenied(t, err, code)
	require.Zero(t, ran.Load(), "the tool ran")
}

func runURLCase(t *testing.T, c adversarialCase) {
	f := newFixture(t)
	fn, ran := guardedProbe(t, f.guard, fetchTool)
	_, err := fn(context.Background(), mustJSON(t, map[string]string{"url": c.Input}))
	requireNeverRan(t, ran, err, c.Expect)
}

func runEmailCase(t *testing.T, c adversarialCase) {
	f := newFixture(t, toolguard.WithApprover(approveAll))
	fn, ran := guardedProbe(t, f.guard, toolguard.Tool{Name: "send_email", Effect: toolguard.Write, Destinations: []toolguard.Dest{toolguard.EmailArg("to")}})
	_, err := fn(context.Background(), mustJSON(t, map[string]string{"to": c.Input}))
	requireNeverRan(t, ran, err, c.Expect)
}

var approveAll = toolguard.ApproverFunc(func(context.Context, toolguard.ApprovalRequest) (toolguard.Approval, error) {
	return toolguard.Approval{Approved: true, By: "test"}, nil
})

func runArgsCase(t *testing.T, c adversarialCase) {
	f := newFixture(t)
	fn, ran := guardedProbe(t, f.guard, fetchTool)
	_, err := fn(context.Background(), json.RawMessage(c.Input))
	requireNeverRan(t, ran, err, c.Expect)
}

// pathTree builds base/{data/notes/a.txt, data2/loot.md, data-secret/loot.md,
// secret} and, inside data, symlinks that leave it: leak → ../secret,
// up → .., abs → /, chain → inner → .., leakdir → base/data2.
func pathTree(t *testing.T) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "data")
	for _, d := range []string{"data/notes", "data2", "data-secret"} {
		require.NoError(t, os.MkdirAll(filepath.Join(base, d), 0o755))
	}
	for name, body := range map[string]string{"data/notes/a.txt": "ok", "data2/loot.md": "loot", "data-secret/loot.md": "loot", "secret": "secret"} {
		require.NoError(t, os.WriteFile(filepath.Join(base, name), []byte(body), 0o600))
	}
	for link, target := range map[string]string{
		"leak": "../secret", "up": "..", "abs": "/", "inner": "..", "chain": "inner", "leakdir": filepath.Join(base, "data2"),
		"alias": "notes", "report.md": "notes/a.txt", // inside the root

	} {
		require.NoError(t, os.Symlink(target, filepath.Join(root, link)))
	}
	return base, root
}

func readDocTool(root string) toolguard.Tool {
	return toolguard.Tool{Name: "read_doc", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.PathArg("path", root)}}
}

func runPathCase(t *testing.T, c adversarialCase) {
	base, root := pathTree(t)
	in := strings.NewReplacer("{root}", root, "{base}", base).Replace(c.Input)
	f := newFixture(t)
	fn, ran := guardedProbe(t, f.guard, readDocTool(root))
	_, err := fn(context.Background(), mustJSON(t, map[string]string{"path": in}))
	requireNeverRan(t, ran, err, c.Expect)
}

// runSwapCase: the path is authorized while it is a plain file; before the
// tool opens it, it is replaced by a symlink to a file outside the root.
// OpenFile goes through os.Root and refuses.
func runSwapCase(t *testing.T, c adversarialCase) {
	base, root := pathTree(t)
	f := newFixture(t)
	var read []byte
	fn, err := toolguard.WrapJSON(f.guard, readDocTool(root), func(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
		var a struct{ Path string }
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		target := filepath.Join(root, a.Path)
		if err := os.Remove(target); err != nil {
			return nil, err
		}
		if err := os.Symlink(filepath.Join(base, "secret"), target); err != nil {
			return nil, err
		}
		b, err := egress.ReadFile(ctx, a.Path)
		read = b
		return nil, err
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), mustJSON(t, map[string]string{"path": c.Input}))
	require.Error(t, err)
	require.ErrorContains(t, err, "toolguard: open")
	require.Empty(t, read, "the file outside the root was read")
}

func runArgvCase(t *testing.T, c adversarialCase) {
	f := newFixture(t)
	fn, ran := guardedProbe(t, f.guard, toolguard.Tool{Name: "read_doc", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.ArgvArg("argv")}})
	_, err := fn(context.Background(), mustJSON(t, map[string]any{"argv": []string{"log", c.Input, "main"}}))
	requireNeverRan(t, ran, err, c.Expect)
}

// victim is a loopback server that must never be reached.
func victim(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return u.Port()
}

// resolverDialer resolves the names in hosts (name → "ip") in process — no
// real DNS — and dials through egress.Dialer when guarded is true.
func resolverDialer(hosts map[string]string, guarded bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip, ok := hosts[h]; ok {
			addr = net.JoinHostPort(ip, p)
		} else if net.ParseIP(h) == nil {
			return nil, fmt.Errorf("test resolver: no such host %s", h)
		}
		if guarded {
			return egress.Dialer().DialContext(ctx, network, addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// fetchWith runs one guarded call whose tool GETs target with client.
func fetchWith(t *testing.T, dec authz.Decider, client *http.Client, target string) error {
	t.Helper()
	f := newFixture(t, toolguard.WithDecider(dec))
	fn, err := toolguard.Wrap(f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read}, func(ctx context.Context, _ DocArgs) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		return resp.Status, nil
	})
	require.NoError(t, err)
	_, err = fn(context.Background(), DocArgs{})
	return err
}

// runRedirectCase: the granted host (a loopback server reached by name,
// private addresses allowed) redirects to the case's target; the egress
// transport checks the hop and the victim gets nothing.
func runRedirectCase(t *testing.T, c adversarialCase) {
	vic, hits := victim(t)
	target := strings.ReplaceAll(c.Input, "{victim_port}", port(t, vic))
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	}))
	t.Cleanup(front.Close)
	base := &http.Transport{DialContext: resolverDialer(map[string]string{
		"docs.example.com": "127.0.0.1", "internal.example": "127.0.0.1", "docs.example.com.evil.example": "127.0.0.1",
	}, true)}
	t.Cleanup(base.CloseIdleConnections)
	client := &http.Client{Transport: egress.Transport(base)}
	err := fetchWith(t, grantingDecider(true, "docs.example.com"), client, "http://docs.example.com:"+port(t, front)+"/start")
	require.ErrorContains(t, err, "toolguard: egress")
	require.Zero(t, hits.Load(), "the redirect target was reached")
}

// runRebindCase: the granted name resolves, at dial time, to the case's
// address (the victim's port). guarded dials through egress.Dialer;
// otherwise the base transport has its own dialer and the connection is
// checked before the request is written.
func runRebindCase(allowPrivate, guarded bool) func(t *testing.T, c adversarialCase) {
	return func(t *testing.T, c adversarialCase) {
		vic, hits := victim(t)
		base := &http.Transport{DialContext: resolverDialer(map[string]string{"docs.example.com": c.Input}, guarded)}
		t.Cleanup(base.CloseIdleConnections)
		client := &http.Client{Transport: egress.Transport(base), Timeout: 5 * time.Second}
		err := fetchWith(t, grantingDecider(allowPrivate, "docs.example.com"), client, "http://docs.example.com:"+port(t, vic)+"/")
		require.ErrorContains(t, err, "toolguard: egress")
		require.Zero(t, hits.Load(), "the rebound address was reached")
	}
}

// recordingRT stands in for the network: it records whether a request
// carried a token.
type recordingRT struct {
	auth atomic.Int32
	sent atomic.Int32
	// redirectTo, when set, answers the first request with a redirect.
	redirectTo string
}

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	if r.redirectTo != "" && req.URL.String() != r.redirectTo {
		return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {r.redirectTo}}, Body: http.NoBody, Request: req}, nil
	}
	r.sent.Add(1)
	if req.Header.Get("Authorization") != "" {
		r.auth.Add(1)
	}
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

func runTokenCase(t *testing.T, c adversarialCase) {
	m, err := creds.NewMinter()
	require.NoError(t, err)
	cred, err := m.Issue(context.Background(), creds.Request{Subject: agentID, Audience: "https://docs.example.com", TTL: time.Minute})
	require.NoError(t, err)
	ctx := creds.NewContext(context.Background(), cred)
	rt := &recordingRT{}
	var opts []creds.TransportOption
	start := c.Input
	switch c.Run {
	case "token-refuse":
		opts = append(opts, creds.RefuseUnbound())
	case "token-redirect":
		// The audience's own origin redirects elsewhere; the hop must not
		// carry the token (CVE-2023-45289, CVE-2024-45336 are this in Go's
		// client with a caller-set header).
		rt.redirectTo, start = c.Input, "https://docs.example.com/start"
	}
	client := &http.Client{Transport: creds.Transport(rt, opts...)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, start, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	if c.Expect == "refused" {
		require.ErrorIs(t, err, creds.ErrUnbound)
		require.Zero(t, rt.sent.Load())
		return
	}
	require.NoError(t, err)
	resp.Body.Close()
	require.Zero(t, rt.auth.Load(), "the token reached %s", c.Input)
}

func runReplayCase(t *testing.T, c adversarialCase) {
	const aud = "https://docs.example.com"
	m, err := creds.NewMinter()
	require.NoError(t, err)
	var reached atomic.Int32
	srv := httptest.NewServer(creds.Middleware(m.Verifier(), aud)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
	})))
	t.Cleanup(srv.Close)
	issue := func(audience string) *creds.Credential {
		cr, err := m.Issue(context.Background(), creds.Request{Subject: agentID, Audience: audience, TTL: time.Minute})
		require.NoError(t, err)
		return cr
	}
	send := func(token string) int {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	var attack string
	legit := int32(0)
	switch c.Input {
	case "replay":
		tok := issue(aud).Token()
		require.Equal(t, http.StatusOK, send(tok))
		legit, attack = 1, tok
	case "wrong_audience":
		attack = issue("https://evil.example").Token()
	case "revoked":
		cr := issue(aud)
		require.NoError(t, m.Revoke(context.Background(), cr.ID))
		attack = cr.Token()
	case "tampered":
		parts := strings.Split(issue(aud).Token(), ".")
		claims, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		claims = []byte(strings.Replace(string(claims), `"sub":"`, `"sub":"x`, 1))
		parts[1] = base64.RawURLEncoding.EncodeToString(claims)
		attack = strings.Join(parts, ".")
	case "none_alg":
		parts := strings.Split(issue(aud).Token(), ".")
		attack = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	default:
		t.Fatalf("unknown replay input %q", c.Input)
	}
	require.Equal(t, c.Expect, fmt.Sprint(send(attack)))
	require.Equal(t, legit, reached.Load(), "the attack request reached the handler")
}

// runPolicyCase: a policy that tries to allow by something other than a
// literal true, or errs, denies; a policy using a network builtin does not
// even load.
func runPolicyCase(t *testing.T, c adversarialCase) {
	eng, err := authz.New(context.Background(),
		authz.WithModule("p.rego", "package p\n\n"+c.Input+"\n"),
		authz.WithQuery("data.p.decision"),
		authz.WithTimeout(30*time.Second))
	if c.Expect == "compile_error" {
		require.Error(t, err)
		return
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	f := newFixture(t, toolguard.WithDecider(eng))
	fn, ran := guardedProbe(t, f.guard, fetchTool)
	_, err = fn(context.Background(), mustJSON(t, map[string]string{"url": "https://docs.example.com/"}))
	requireNeverRan(t, ran, err, c.Expect)
	var d *toolguard.DeniedError
	require.True(t, errors.As(err, &d))
}

// runDeclCase: input is "DECLS ARGS": destinations declared as
// kind:field[,kind:field…] (a trailing '?' makes one optional; "-" declares
// none; a path's root is a temporary directory), then the JSON arguments of
// a WrapJSON tool.
func runDeclCase(t *testing.T, c adversarialCase) {
	declsIn, args, ok := strings.Cut(c.Input, " ")
	require.True(t, ok, "input is DECLS ARGS")
	var dests []toolguard.Dest
	for d := range strings.SplitSeq(declsIn, ",") {
		if d == "-" {
			continue
		}
		kind, field, ok := strings.Cut(d, ":")
		require.True(t, ok, "declaration %q is kind:field", d)
		field, optional := strings.CutSuffix(field, "?")
		var dest toolguard.Dest
		switch kind {
		case "url":
			dest = toolguard.URLArg(field)
		case "email":
			dest = toolguard.EmailArg(field)
		case "path":
			dest = toolguard.PathArg(field, t.TempDir())
		case "argv":
			dest = toolguard.ArgvArg(field)
		default:
			t.Fatalf("unknown destination kind %q", kind)
		}
		if optional {
			dest = dest.Optional()
		}
		dests = append(dests, dest)
	}
	f := newFixture(t, toolguard.WithApprover(approveAll))
	fn, ran := guardedProbe(t, f.guard, toolguard.Tool{Name: "send_email", Effect: toolguard.Write, Destinations: dests})
	_, err := fn(context.Background(), json.RawMessage(args))
	requireNeverRan(t, ran, err, c.Expect)
}

// runTypedLinksCase: a typed tool whose destinations sit in a slice of
// structs (URLArg("links.url")); input is its arguments as JSON.
func runTypedLinksCase(t *testing.T, c adversarialCase) {
	f := newFixture(t)
	var ran atomic.Int32
	fn, err := toolguard.Wrap(f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.URLArg("links.url")}},
		func(context.Context, linkArgs) (int, error) { ran.Add(1); return 0, nil })
	require.NoError(t, err)
	var a linkArgs
	require.NoError(t, json.Unmarshal([]byte(c.Input), &a))
	_, err = fn(context.Background(), a)
	requireNeverRan(t, &ran, err, c.Expect)
}

// runRedactCase: the policy says to redact "password"; input is the
// arguments, with the secret "hunter2" under some spelling of the key. The
// bar: the secret never reaches a record, whether the call runs or not.
func runRedactCase(t *testing.T, c adversarialCase) {
	dec := deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
		return authz.Decision{Allow: true, Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: 10}, Redact: []string{"call.args.password"}}, nil
	})
	f := newFixture(t, toolguard.WithDecider(dec), toolguard.WithRecordArgs(nil))
	fn, _ := guardedProbe(t, f.guard, toolguard.Tool{Name: "login", Effect: toolguard.Read})
	_, _ = fn(context.Background(), json.RawMessage(c.Input))
	b, err := json.Marshal(f.sink.all())
	require.NoError(t, err)
	require.NotEmpty(t, f.sink.all(), "the call is on record")
	require.Equal(t, "redacted", c.Expect)
	require.NotContains(t, string(b), "hunter2", "the secret reached the record")
}

// runTaskEndedCase: a call made under a task after Task.End.
func runTaskEndedCase(t *testing.T, c adversarialCase) {
	f := newFixture(t)
	task := &toolguard.Task{ID: "t-ended"}
	require.NoError(t, task.End(context.Background()))
	fn, ran := guardedProbe(t, f.guard, fetchTool)
	_, err := fn(toolguard.WithTask(context.Background(), task), json.RawMessage(c.Input))
	requireNeverRan(t, ran, err, c.Expect)
}

// runTaskTTLCase: input "LONG,SHORT": two calls of one task whose decisions
// share the task's credential (reuse "task") with those lifetimes in
// seconds. The second must get a credential that lives no longer than its
// own decision says.
func runTaskTTLCase(t *testing.T, c adversarialCase) {
	var ttls [2]int
	_, err := fmt.Sscanf(c.Input, "%d,%d", &ttls[0], &ttls[1])
	require.NoError(t, err)
	var n atomic.Int32
	dec := deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
		ttl := ttls[min(int(n.Add(1))-1, 1)]
		return authz.Decision{Allow: true, Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: ttl, Reuse: authz.ReuseTask}}, nil
	})
	f := newFixture(t, toolguard.WithDecider(dec))
	var p probe
	fn := wrap(t, f.guard, fetchTool, p.fn)
	task := &toolguard.Task{ID: "t-ttl"}
	t.Cleanup(func() { _ = task.End(context.Background()) })
	ctx := toolguard.WithTask(context.Background(), task)
	for range 2 {
		_, err := fn(ctx, DocArgs{URL: "https://docs.example.com/"})
		require.NoError(t, err)
	}
	require.Equal(t, "short-credential", c.Expect)
	require.LessOrEqual(t, p.cred.TTL(), time.Duration(ttls[1])*time.Second, "the call got a credential outliving its decision")
}

// recipientData grants send_money to the test agent with one payee and one
// chat user.
var recipientData = []byte(`{"agents": {"` + agentID + `": {"tools": ["send_money"],
	"recipients": {"iban": ["DE89 3704 0044 0532 0130 00"], "chat_user": ["@bob"], "phone": ["+1 555 010 9999"]}}}}`)

// runRecipientCase: input is "KIND VALUE"; a payment tool declares
// RecipientArg("to", KIND) and is called with VALUE.
func runRecipientCase(t *testing.T, c adversarialCase) {
	kind, value, ok := strings.Cut(c.Input, " ")
	require.True(t, ok, "input is KIND VALUE")
	eng, err := authz.New(context.Background(), authz.WithDataJSON(recipientData), authz.WithTimeout(30*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	f := newFixture(t, toolguard.WithDecider(eng), toolguard.WithApprover(approveAll))
	fn, ran := guardedProbe(t, f.guard, toolguard.Tool{Name: "send_money", Effect: toolguard.External,
		Destinations: []toolguard.Dest{toolguard.RecipientArg("to", kind)}})
	_, err = fn(context.Background(), mustJSON(t, map[string]string{"to": value}))
	requireNeverRan(t, ran, err, c.Expect)
}
