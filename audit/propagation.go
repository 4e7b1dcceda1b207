package audit

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
)

// traceContext is the W3C Trace Context propagator. It is used directly, not
// through otel.GetTextMapPropagator, so that trace context crosses process
// boundaries even when the application never configured a global propagator.
var traceContext = propagation.TraceContext{}

// InjectHTTP writes the W3C traceparent (and tracestate) of ctx into h, so a
// tool backend in another process joins the caller's trace.
func InjectHTTP(ctx context.Context, h interface{ Set(string, string) }) {
	traceContext.Inject(ctx, setterCarrier{h})
}

// InjectMCPMeta writes the trace context of ctx into an MCP request's
// params._meta (keys "traceparent" and "tracestate", as SEP-414 proposes), so
// an MCP server in another process joins the trace. meta may be nil; the
// (possibly new) map is returned.
func InjectMCPMeta(ctx context.Context, meta map[string]any) map[string]any {
	if meta == nil {
		meta = map[string]any{}
	}
	traceContext.Inject(ctx, metaCarrier(meta))
	return meta
}

// ExtractMCPMeta returns ctx with the remote span context found in an MCP
// request's params._meta, if any: spans the server starts from it belong to
// the caller's trace.
func ExtractMCPMeta(ctx context.Context, meta map[string]any) context.Context {
	if meta == nil {
		return ctx
	}
	return traceContext.Extract(ctx, metaCarrier(meta))
}

type setterCarrier struct {
	h interface{ Set(string, string) }
}

func (c setterCarrier) Get(string) string { return "" }
func (c setterCarrier) Set(k, v string)   { c.h.Set(k, v) }
func (c setterCarrier) Keys() []string    { return nil }

// metaCarrier adapts an MCP _meta object; only string values are read.
type metaCarrier map[string]any

func (m metaCarrier) Get(k string) string {
	s, _ := m[k].(string)
	return s
}

func (m metaCarrier) Set(k, v string) { m[k] = v }

func (m metaCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
