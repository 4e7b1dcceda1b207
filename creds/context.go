package creds

import "context"

// ctxKey is unexported so only this package can put a credential in a
// context; tools receive it through ctx and nowhere else.
type ctxKey struct{}

// NewContext returns a copy of ctx that carries c.
func NewContext(ctx context.Context, c *Credential) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the credential stored by NewContext, if any.
func FromContext(ctx context.Context) (*Credential, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Credential)
	return c, ok && c != nil
}
