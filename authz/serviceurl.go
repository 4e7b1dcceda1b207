package authz

import (
	"errors"
	"fmt"
	"net/url"
)

// checkServiceURL validates the base URL of a service the engine talks to
// (bundle server, decision-log service): http(s), a host, no credentials
// (they would end up in errors and logs), no query or fragment.
func checkServiceURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errors.New("URL is empty")
	case err != nil:
		return fmt.Errorf("URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("URL %q: scheme must be http or https", raw)
	case u.Host == "":
		return fmt.Errorf("URL %q has no host", raw)
	case u.User != nil:
		return errors.New("URL holds credentials: they would end up in errors and logs; use Client for authentication")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("URL %q: the query or fragment belongs in Resource", raw)
	}
	return nil
}
