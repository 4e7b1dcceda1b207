package bench

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func benchmark(b *testing.B, f func(*rig) func(int) error) {
	r := newRig(b)
	call := f(r)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := call(i); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFloor(b *testing.B) { benchmark(b, func(r *rig) func(int) error { return r.floor }) }
func BenchmarkSpan(b *testing.B)  { benchmark(b, func(r *rig) func(int) error { return r.span }) }
func BenchmarkSpanLate(b *testing.B) {
	benchmark(b, func(r *rig) func(int) error { return r.spanLate })
}
func BenchmarkToolSpan(b *testing.B) {
	benchmark(b, func(r *rig) func(int) error { return r.toolSpan })
}
func BenchmarkSpanRecord(b *testing.B) {
	benchmark(b, func(r *rig) func(int) error { return r.spanRecord })
}
func BenchmarkOPAEval(b *testing.B) { benchmark(b, func(r *rig) func(int) error { return r.opaEval }) }
func BenchmarkGuardMiss(b *testing.B) {
	benchmark(b, func(r *rig) func(int) error { return r.guardMiss })
}
func BenchmarkGuardMissMint(b *testing.B) {
	benchmark(b, func(r *rig) func(int) error { return r.guardMissMint })
}
func BenchmarkGuardHot(b *testing.B) {
	benchmark(b, func(r *rig) func(int) error { return r.guardHot })
}

func BenchmarkGuardHotParallel(b *testing.B) {
	r := newRig(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.call(r.taskCx, FetchArgs{URL: "https://docs.example.com/guide"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The rig itself must work: every variant allows, under -short too.
func TestRigVariantsAllow(t *testing.T) {
	r := newRig(t)
	for name, f := range map[string]func(int) error{
		"floor": r.floor, "span": r.span, "span+record": r.spanRecord, "span late": r.spanLate, "tool span": r.toolSpan, "opa": r.opaEval, "miss": r.guardMiss,
		"mint": r.guardMissMint, "hot": r.guardHot,
	} {
		for i := range 3 {
			if err := f(i); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
}
