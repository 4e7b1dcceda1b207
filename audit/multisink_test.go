package audit_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/audit"
)

func TestMultiSink(t *testing.T) {
	errOther := errors.New("other")
	failing := func(err error) audit.Sink {
		return audit.SinkFunc(func(context.Context, *audit.Record) error { return err })
	}
	tests := []struct {
		name     string
		sinks    func(a, b audit.Sink) []audit.Sink
		wantErrs []error
		wantMsgs []string
		wantA    bool // the recording sinks still got the record
	}{
		{"all succeed", func(a, b audit.Sink) []audit.Sink { return []audit.Sink{a, b} }, nil, nil, true},
		{
			"one fails, the others still write",
			func(a, b audit.Sink) []audit.Sink { return []audit.Sink{a, failing(errDiskFull), b} },
			[]error{errDiskFull}, []string{"audit: sink 1: disk full"}, true,
		},
		{
			"errors are joined",
			func(a, b audit.Sink) []audit.Sink { return []audit.Sink{failing(errDiskFull), a, failing(errOther), b} },
			[]error{errDiskFull, errOther}, []string{"audit: sink 0: disk full", "audit: sink 2: other"}, true,
		},
		{
			"nil sink fails",
			func(a, b audit.Sink) []audit.Sink { return []audit.Sink{a, nil, b} },
			nil, []string{"audit: sink 1: audit: nil Sink"}, true,
		},
		{"no sinks fail", func(audit.Sink, audit.Sink) []audit.Sink { return nil }, nil, []string{"audit: MultiSink has no sinks"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var bufA, bufB bytes.Buffer
			a, b := audit.NewJSONLines(&bufA), audit.NewJSONLines(&bufB)
			sinks := tc.sinks(a, b)
			m := audit.MultiSink(sinks...)
			clear(sinks) // MultiSink keeps its own copy
			err := m.Write(context.Background(), &audit.Record{Tool: "t", Outcome: audit.StatusOK})
			if tc.wantMsgs == nil {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				for _, msg := range tc.wantMsgs {
					require.Contains(t, err.Error(), msg)
				}
			}
			for _, e := range tc.wantErrs {
				require.ErrorIs(t, err, e)
			}
			if tc.wantA {
				require.Contains(t, bufA.String(), `"tool":"t"`)
				require.Contains(t, bufB.String(), `"tool":"t"`)
			}
		})
	}
}
