package creds

// optionFunc is the one adapter behind every sealed option interface of this
// package (MinterOption, VerifierOption, ...): each interface has an
// unexported apply method on its own config type, so an optionFunc of one
// config satisfies only its own interface.
type optionFunc[C any] func(*C)

func (f optionFunc[C]) apply(c *C) { f(c) }
