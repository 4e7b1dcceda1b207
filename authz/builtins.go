package authz

import (
	"fmt"
	"slices"
)

// refusedBuiltins are refused at compile time unless the user opts in by name.
// The network ones would let a policy exfiltrate the input or hang on I/O;
// opa.runtime exposes the process environment; rego.parse_module and trace
// have no business in a decision; time.now_ns makes a decision depend on when
// it ran instead of on input.time, so it cannot be replayed.
func refusedBuiltins() []string {
	return []string{
		"http.send",
		"net.lookup_ip_addr",
		"opa.runtime",
		"rego.parse_module",
		"time.now_ns",
		"trace",
	}
}

// RefusedBuiltins returns the names of the builtins New refuses unless they
// are named in WithUnsafeBuiltins.
func RefusedBuiltins() []string { return refusedBuiltins() }

// unsafeSet is the set handed to rego.UnsafeBuiltins: the refused builtins
// minus those the user allowed.
func unsafeSet(allow []string) (map[string]struct{}, error) {
	refused := refusedBuiltins()
	set := make(map[string]struct{}, len(refused))
	for _, name := range refused {
		set[name] = struct{}{}
	}
	for _, name := range allow {
		if !slices.Contains(refused, name) {
			return nil, fmt.Errorf("builtin %q is not refused by default", name)
		}
		delete(set, name)
	}
	return set, nil
}
