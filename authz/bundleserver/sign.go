package bundleserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// Bundle is what a signed bundle carries: the whole policy of the engines
// that load it and the whole data document.
type Bundle struct {
	// Modules maps file names to Rego sources (authz.DefaultPolicy() for
	// the default policy, with modules of your own beside it).
	Modules map[string]string
	// Data is the data document, JSON: the grants, budgets and the kill
	// switch (data.suspended) of the default policy.
	Data json.RawMessage
	// Revision is the manifest's revision, for people; engines name a
	// policy by a digest of what it holds.
	Revision string
}

// SigningKey is the private key bundles are signed with, whose public half
// every engine is configured with (authz.BundleConfig.PublicKey).
type SigningKey struct {
	PEM       string // the PEM private key (PKCS #1, PKCS #8 or SEC 1)
	Algorithm string // as authz.BundleConfig.Algorithm; default "RS256"
	KeyID     string // as authz.BundleConfig.KeyID; default "global"
}

// Sign builds b as a signed snapshot bundle (.tar.gz), as opa build
// --signing-key does: every file's digest is listed in a JWT that key
// signs. Bad Rego is not its concern — engines reject a bundle that does
// not compile and keep the last good one.
func Sign(b Bundle, key SigningKey) ([]byte, error) {
	if len(b.Modules) == 0 {
		return nil, errors.New("bundleserver: sign: a bundle without modules would leave engines no policy")
	}
	if strings.TrimSpace(key.PEM) == "" {
		return nil, errors.New("bundleserver: sign: no signing key")
	}
	alg, kid := key.Algorithm, key.KeyID
	if alg == "" {
		alg = "RS256"
	}
	if kid == "" {
		kid = "global"
	}
	var data map[string]any
	if len(b.Data) > 0 {
		d := json.NewDecoder(bytes.NewReader(b.Data))
		d.UseNumber()
		if err := d.Decode(&data); err != nil {
			return nil, fmt.Errorf("bundleserver: sign: data is not a JSON object: %w", err)
		}
		if d.More() {
			return nil, errors.New("bundleserver: sign: data holds more than one JSON value")
		}
	}
	if data == nil {
		data = map[string]any{}
	}
	out := bundle.Bundle{Manifest: bundle.Manifest{Revision: b.Revision}, Data: data}
	for _, name := range slices.Sorted(maps.Keys(b.Modules)) {
		p := "/" + strings.TrimPrefix(name, "/")
		out.Modules = append(out.Modules, bundle.ModuleFile{URL: p, Path: p, Raw: []byte(b.Modules[name])})
	}
	if err := out.GenerateSignature(bundle.NewSigningConfig(key.PEM, alg, ""), kid, false); err != nil {
		return nil, fmt.Errorf("bundleserver: sign: %w", err)
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(out); err != nil {
		return nil, fmt.Errorf("bundleserver: sign: %w", err)
	}
	return buf.Bytes(), nil
}
