package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/internal/opatest"
)

// ReportEnv asks TestBenchReport for a real measurement. Without it the
// report still runs, at smoke size (smokeCalls per variant): every variant,
// the OPA server included, must answer allow and no record may be dropped,
// but the numbers it prints mean nothing.
const ReportEnv = "ZTAGENT_BENCH"

// CallsEnv sets the calls per variant (default 100000, the minimum the report
// is meant for); ServerCallsEnv lowers it for the OPA server only.
const (
	CallsEnv       = "ZTAGENT_BENCH_CALLS"
	ServerCallsEnv = "ZTAGENT_BENCH_SERVER_CALLS"
	rounds         = 5
	smokeCalls     = 500
)

type variant struct {
	name  string
	call  func(i int) error
	calls int // per round, timed and untimed each
	par   bool

	lat           []int64
	ns            int64
	n             int
	bytes, allocs uint64
	parCalls      int
	parNS         int64
}

// TestBenchReport runs every variant round-robin, rounds times, so machine
// drift hits them alike, and prints one table and the ratios the targets
// are stated in. Per round each variant runs one untimed batch (ns/op, B/op,
// allocs/op from the batch: no per-call clock reads) and one batch with a
// clock read around each call (p50/p99).
func TestBenchReport(t *testing.T) {
	defaultCalls := 100_000
	if os.Getenv(ReportEnv) == "" {
		defaultCalls = smokeCalls
		t.Logf("smoke size (%d calls per variant): set %s=1 for a real measurement", smokeCalls, ReportEnv)
	}
	calls := envInt(CallsEnv, defaultCalls)
	serverCalls := envInt(ServerCallsEnv, calls)
	r := newRig(t)
	srv := opatest.Start(t, r.modules, policyData)
	ctx := context.Background()
	sidecar := func(int) error {
		res, err := srv.Decide(ctx, "ztagent/decision", r.inputJSON)
		if err != nil {
			return err
		}
		var d authz.Decision
		if err := json.Unmarshal(res, &d); err != nil {
			return err
		}
		if !d.Allow {
			return fmt.Errorf("opa server denied: %v", d.Reasons)
		}
		return nil
	}

	per := func(n int) int { return max(1, n/rounds) }
	vs := variants{
		vFloor:    {name: "floor: bare tool call", call: r.floor},
		vSpan:     {name: "one OTel SDK span, same attributes", call: r.span},
		vSpanLate: {name: "the span, its learnt attributes set before End", call: r.spanLate},
		vToolSpan: {name: "the guard's action path alone (audit.Call: span and record)", call: r.toolSpan},
		vSpanRec:  {name: "the span and a decision record", call: r.spanRecord},
		vOpa:      {name: "bare OPA PreparedEvalQuery.Eval", call: r.opaEval},
		vMiss:     {name: "guard, cache miss, task credential", call: r.guardMiss},
		vMissMint: {name: "guard, cache miss, credential minted", call: r.guardMissMint},
		vHot:      {name: "guard, hot path", call: r.guardHot},
		vServer:   {name: "OPA server over loopback HTTP", call: sidecar, calls: per(serverCalls)},
		vParallel: {name: "guard, hot path, " + strconv.Itoa(runtime.GOMAXPROCS(0)) + " goroutines", call: r.guardHot, par: true},
	}
	for _, v := range vs {
		if v.calls == 0 {
			v.calls = per(calls)
		}
		v.lat = make([]int64, 0, v.calls*rounds)
		// Warm up: first calls build caches, connections, JIT-free but
		// page-fault-full structures.
		for i := range min(v.calls, 2000) {
			if err := v.call(-1 - i); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
		}
	}
	idx := 0
	for round := range rounds {
		for _, v := range vs {
			var err error
			if v.par {
				err = v.runParallel(&idx)
			} else {
				err = v.run(&idx)
			}
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, v.name, err)
			}
		}
	}
	st := r.guard.Stats()
	written := r.sink.written.Load()
	t.Logf("guard: %d calls, %d denied, %d records written, %d sink failures, %d refreshes",
		st.Calls, st.Denied, written, st.SinkFailures, st.Refreshes)
	if st.Denied != 0 || st.SinkFailures != 0 || written != st.Calls {
		t.Fatalf("records dropped or calls denied: %+v, %d written", st, written)
	}
	report(t, vs, runtime.GOMAXPROCS(0))
}

// The variants, in the report's order.
const (
	vFloor = iota
	vSpan
	vSpanLate
	vToolSpan
	vSpanRec
	vOpa
	vMiss
	vMissMint
	vHot
	vServer
	vParallel
	nVariants
)

type variants [nVariants]*variant

func (v *variant) run(idx *int) error {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for range v.calls {
		*idx++
		if err := v.call(*idx); err != nil {
			return err
		}
	}
	v.ns += time.Since(start).Nanoseconds()
	runtime.ReadMemStats(&m1)
	v.n += v.calls
	v.bytes += m1.TotalAlloc - m0.TotalAlloc
	v.allocs += m1.Mallocs - m0.Mallocs
	for range v.calls {
		*idx++
		s := time.Now()
		if err := v.call(*idx); err != nil {
			return err
		}
		v.lat = append(v.lat, int64(time.Since(s)))
	}
	return nil
}

// runParallel spreads v.calls over GOMAXPROCS goroutines and measures the
// throughput; latency is per call as in run.
func (v *variant) runParallel(idx *int) error {
	workers := runtime.GOMAXPROCS(0)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	lats := make([][]int64, workers)
	start := time.Now()
	for w := range workers {
		base := *idx + w*v.calls
		wg.Go(func() {
			lat := make([]int64, 0, v.calls/workers)
			for i := range v.calls / workers {
				s := time.Now()
				if err := v.call(base + i); err != nil {
					errs[w] = err
					return
				}
				lat = append(lat, int64(time.Since(s)))
			}
			lats[w] = lat
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Nanoseconds()
	runtime.ReadMemStats(&m1)
	*idx += workers * v.calls
	for w := range workers {
		if errs[w] != nil {
			return errs[w]
		}
		v.lat = append(v.lat, lats[w]...)
	}
	done := workers * (v.calls / workers)
	v.parCalls += done
	v.parNS += elapsed
	v.n += done
	v.ns += elapsed * int64(workers) // CPU-time per call, comparable with the serial rows
	v.bytes += m1.TotalAlloc - m0.TotalAlloc
	v.allocs += m1.Mallocs - m0.Mallocs
	return nil
}

type row struct {
	ns, p50, p99, bytes, allocs float64
}

func (v *variant) row() row {
	slices.Sort(v.lat)
	q := func(p float64) float64 { return float64(v.lat[int(p*float64(len(v.lat)-1))]) }
	return row{
		ns: float64(v.ns) / float64(v.n), p50: q(0.50), p99: q(0.99),
		bytes: float64(v.bytes) / float64(v.n), allocs: float64(v.allocs) / float64(v.n),
	}
}

func report(t *testing.T, vs variants, procs int) {
	rows := map[string]row{}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d rounds, interleaved; GOMAXPROCS=%d, %s\n\n", rounds, procs, runtime.Version())
	fmt.Fprintf(&b, "| variant | calls | ns/op | B/op | allocs/op | p50 | p99 |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, v := range vs {
		r := v.row()
		rows[v.name] = r
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.1f | %s | %s |\n", v.name, len(v.lat), r.ns, r.bytes, r.allocs, dur(r.p50), dur(r.p99))
	}
	miss, missMint, hot := rows[vs[vMiss].name], rows[vs[vMissMint].name], rows[vs[vHot].name]
	span, spanRec, opa, srv := rows[vs[vSpan].name], rows[vs[vSpanRec].name], rows[vs[vOpa].name], rows[vs[vServer].name]
	spanLate, toolSpan := rows[vs[vSpanLate].name], rows[vs[vToolSpan].name]
	par := vs[vParallel]
	tput := float64(par.parCalls) / (float64(par.parNS) / 1e9)
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintf(&b, "\n| target | measured | |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| guard cache miss ≤ 1.2 × bare OPA eval (ns/op) | %.2f × | %s |\n", miss.ns/opa.ns, check(miss.ns/opa.ns <= 1.2))
	fmt.Fprintf(&b, "| (same, credential minted per call) | %.2f × | %s |\n", missMint.ns/opa.ns, check(missMint.ns/opa.ns <= 1.2))
	fmt.Fprintf(&b, "| guard hot path ≤ 1.25 × one SDK span (ns/op) | %.2f × | %s |\n", hot.ns/span.ns, check(hot.ns/span.ns <= 1.25))
	for _, s := range []struct {
		name string
		r    row
	}{{"its learnt attributes set before End", spanLate}, {"the guard's action path alone (audit.Call)", toolSpan}, {"the span and a decision record, no guard", spanRec}} {
		fmt.Fprintf(&b, "| (for scale: %s) | %.2f ×, p50 %.2f × | |\n", s.name, s.r.ns/span.ns, s.r.p50/span.p50)
	}
	fmt.Fprintf(&b, "| guard hot path ≤ span + 12 allocs | span + %.1f | %s |\n", hot.allocs-span.allocs, check(hot.allocs-span.allocs <= 12))
	fmt.Fprintf(&b, "| OPA server p50 ≥ 5 × guard cache miss p50 | %.1f × | %s |\n", srv.p50/miss.p50, check(srv.p50/miss.p50 >= 5))
	fmt.Fprintf(&b, "| (same, credential minted per call) | %.1f × | %s |\n", srv.p50/missMint.p50, check(srv.p50/missMint.p50 >= 5))
	fmt.Fprintf(&b, "| guard cache miss p99 < OPA server p99 | %s < %s | %s |\n", dur(miss.p99), dur(srv.p99), check(miss.p99 < srv.p99))
	fmt.Fprintf(&b, "| ≥ 50,000 guarded calls/s on the hot path, no record dropped | %.0f /s | %s |\n", tput, check(tput >= 50_000))
	t.Log(b.String())
	if out := os.Getenv("ZTAGENT_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func dur(ns float64) string {
	return time.Duration(ns).Round(100 * time.Nanosecond).String()
}

func envInt(name string, def int) int {
	if s := os.Getenv(name); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return def
}
