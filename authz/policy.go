package authz

import (
	"embed"
	"io/fs"
	"strings"
)

// policyFS holds the default policy library and its Rego unit tests. The
// tests are embedded too so `go test` runs exactly the files that ship.
//
//go:embed policy/*.rego
var policyFS embed.FS

// DefaultPolicy returns the embedded default policy library (package
// ztagent, rego v1), filename → source, without its unit tests. New loads it
// when no WithModule is given; it is exported so it can be reviewed, vendored
// into a bundle, or loaded next to extra modules with WithModule.
func DefaultPolicy() map[string]string {
	return readPolicy(func(name string) bool { return !isRegoTest(name) })
}

// defaultPolicyTests returns the Rego unit tests of the default policy.
func defaultPolicyTests() map[string]string {
	return readPolicy(isRegoTest)
}

func isRegoTest(name string) bool { return strings.HasSuffix(name, "_test.rego") }

func readPolicy(keep func(string) bool) map[string]string {
	out := map[string]string{}
	entries, err := fs.ReadDir(policyFS, "policy")
	if err != nil {
		// The directory is compiled into the binary; failing here means a
		// broken build, and an empty policy denies everything anyway.
		return out
	}
	for _, e := range entries {
		if e.IsDir() || !keep(e.Name()) {
			continue
		}
		b, err := fs.ReadFile(policyFS, "policy/"+e.Name())
		if err != nil {
			continue
		}
		out["policy/"+e.Name()] = string(b)
	}
	return out
}
