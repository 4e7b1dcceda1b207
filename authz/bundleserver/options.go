package bundleserver

import "time"

// Option configures a Server.
type Option interface{ apply(*config) }

type config struct {
	maxWait time.Duration
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMaxWait caps how long a poll is held (default DefaultMaxWait). A
// client asking for longer is answered at the cap; keep it under the
// timeouts of proxies between the server and the fleet.
func WithMaxWait(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxWait = d })
}
