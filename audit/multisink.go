package audit

import (
	"context"
	"errors"
	"fmt"
)

var errNoSinks = errors.New("audit: MultiSink has no sinks")

// MultiSink returns a Sink that writes each record to every one of sinks, in
// order, even when an earlier one fails, and returns their errors joined: the
// write succeeds only if every sink took the record, which is what a strict
// guard needs. Sinks share the *Record and must not change it. A MultiSink
// of no sinks, or with a nil one, fails its writes rather than recording
// nowhere.
func MultiSink(sinks ...Sink) Sink {
	return multiSink(append([]Sink(nil), sinks...))
}

type multiSink []Sink

func (m multiSink) Write(ctx context.Context, r *Record) error {
	if len(m) == 0 {
		return errNoSinks
	}
	var errs []error
	for i, s := range m {
		var err error
		if s == nil {
			err = errors.New("audit: nil Sink")
		} else {
			err = s.Write(ctx, r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("audit: sink %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}
