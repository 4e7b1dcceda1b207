// Package opatest runs a real OPA server for tests and benchmarks: built from
// the Go module proxy at the version pinned in internal/tools/opa (the same
// OPA version the library embeds), started on loopback with a policy and its
// data, stopped by PID when the test ends. It is the sidecar a user would run
// instead of deciding in process.
package opatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztagent/ztagent/internal/proc"
	"github.com/ztagent/ztagent/internal/toolbuild"
)

var program = toolbuild.Program{Module: "internal/tools/opa", Pkg: "github.com/open-policy-agent/opa", Name: "opa"}

// OPA is one running server.
type OPA struct {
	URL    string // http://127.0.0.1:<port>
	Client *http.Client
	proc   *proc.Proc
}

// Start builds (once, cached) and starts `opa run --server` on a free
// loopback port with modules (file name → rego source; names may contain
// directories) and data (a JSON object, or nil), and waits until it is
// healthy and the policy is loaded. Skipped under -short.
func Start(t testing.TB, modules map[string]string, data []byte) *OPA {
	t.Helper()
	bin := toolbuild.Require(t, program)
	dir := proc.ShortTempDir(t, "opa")
	pol := filepath.Join(dir, "policy")
	for name, src := range modules {
		p := filepath.Join(pol, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if data != nil {
		// data.json at the root of a loaded directory is the root document.
		if err := os.WriteFile(filepath.Join(pol, "data.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	o := &OPA{
		// One keep-alive connection per concurrent caller, as a sidecar
		// client would hold.
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second},
	}
	t.Cleanup(o.Client.CloseIdleConnections)
	o.proc = proc.StartRetrying(t, func() (*proc.Proc, error) {
		addr := fmt.Sprintf("127.0.0.1:%d", proc.FreePort(t))
		o.URL = "http://" + addr
		p := proc.Start(t, dir, "opa", bin, []string{
			"run", "--server", "--addr", addr, "--skip-version-check", "--log-level", "error", pol,
		})
		return p, p.WaitFor(time.Minute, "opa healthy", func() error {
			return proc.GetOK(o.Client, o.URL+"/health?bundles")
		})
	})
	return o
}

// Decide posts input (already JSON) to the data API at path
// ("ztagent/decision") and returns the result document, or an error when
// the server answers without one.
func (o *OPA) Decide(ctx context.Context, path string, input []byte) (json.RawMessage, error) {
	body := make([]byte, 0, len(input)+16)
	body = append(append(append(body, `{"input":`...), input...), '}')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL+"/v1/data/"+strings.TrimPrefix(path, "/"), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("opatest: %s: %s", resp.Status, b)
	}
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("opatest: decode response: %w", err)
	}
	if len(out.Result) == 0 {
		return nil, fmt.Errorf("opatest: %s is undefined", path)
	}
	return out.Result, nil
}
