package toolguard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

type pvInner struct {
	Flag bool      `json:"flag"`
	Tags [2]string `json:"tags"`
}

type pvArgs struct {
	URL    string  `json:"url"`
	N      int64   `json:"n,omitempty"`
	U      uint8   `json:"u"`
	In     pvInner `json:"in"`
	Secret string  `json:"-"`
	note   string
}

func TestPlainValue(t *testing.T) {
	for _, v := range []any{"", 0, uint64(0), true, [3]int{}, pvArgs{}, struct{}{}} {
		require.True(t, plainValue(reflect.TypeOf(v)), "%T", v)
	}
	// Floats: == says 0 == -0 (JSON writes them differently) and NaN != NaN.
	for _, v := range []any{0.0, float32(0), struct{ F float64 }{}, []string{}, map[string]string{},
		struct{ P *string }{}, struct{ X any }{}, [1][]int{}, struct{ c chan int }{}} {
		require.False(t, plainValue(reflect.TypeOf(v)), "%T", v)
	}
	vf := newValueFreezer[struct{ M []string }](nil)
	require.False(t, vf.plain)
	_, _, err := vf.freeze(struct{ M []string }{M: []string{"a"}})
	require.NoError(t, err)
	require.Nil(t, vf.m, "a value with references is never remembered")
}

func randomPlain(r *rand.Rand) pvArgs {
	strs := []string{"", "https://docs.example.com/a", "p\xffq", "\u2028<&>\"", strings.Repeat("é", 20)}
	pick := func() string { return strs[r.IntN(len(strs))] }
	return pvArgs{
		URL: pick(), N: int64(r.IntN(3)) - 1, U: uint8(r.IntN(2) * 255),
		In:     pvInner{Flag: r.IntN(2) == 1, Tags: [2]string{pick(), pick()}},
		Secret: pick(), note: pick(),
	}
}

// A remembered value gives exactly what freezing it afresh gives: the
// tool's copy, the canonical bytes and the digest.
func TestValueFreezerGivesWhatFreezeValueGives(t *testing.T) {
	vf := newValueFreezer[pvArgs](newFreezer(nil, nil, nil))
	require.True(t, vf.plain)
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		v := randomPlain(r)
		want, wf, err := freezeValue(nil, v, true)
		require.NoError(t, err)
		got, gf, err := vf.freeze(v)
		require.NoError(t, err)
		require.Equal(t, want, got, "%+v", v)
		require.Equal(t, wf.raw, gf.raw)
		require.Equal(t, wf.digest, gf.digest)
		require.Empty(t, got.Secret, "what JSON does not carry never reaches the tool")
		require.Empty(t, got.note)
	}
	vf.mu.RLock()
	defer vf.mu.RUnlock()
	require.NotEmpty(t, vf.m, "values were remembered")
}

// Why floats are not plain: a memory keyed by == would hand the frozen form
// of -0 to a call with 0.
func TestValueFreezerWouldMixZeroes(t *testing.T) {
	type f struct{ X float64 }
	vf := newValueFreezer[f](nil)
	require.False(t, vf.plain)
	vf.plain = true // what admitting floats would do
	_, neg, err := vf.freeze(f{X: math.Copysign(0, -1)})
	require.NoError(t, err)
	_, pos, err := vf.freeze(f{X: 0})
	require.NoError(t, err)
	_, fresh, err := freezeValue(nil, f{X: 0}, true)
	require.NoError(t, err)
	require.Equal(t, neg.digest, pos.digest, "the memory answered 0 with -0")
	require.NotEqual(t, fresh.digest, pos.digest)
}

func TestValueFreezerIsBounded(t *testing.T) {
	vf := newValueFreezer[pvArgs](nil)
	for i := range freezeEntries*2 + 3 {
		_, _, err := vf.freeze(pvArgs{URL: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	big := pvArgs{URL: strings.Repeat("x", freezeMaxBytes)}
	_, f, err := vf.freeze(big)
	require.NoError(t, err)
	require.Contains(t, string(f.raw), big.URL)
	vf.mu.RLock()
	defer vf.mu.RUnlock()
	require.LessOrEqual(t, len(vf.m), freezeEntries)
	require.NotContains(t, vf.m, any(big), "large values are not remembered")
}

func TestValueFreezerConcurrent(t *testing.T) {
	vf := newValueFreezer[pvArgs](newFreezer([]Dest{URLArg("url")}, nil, nil))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for range 500 {
				v := randomPlain(r)
				got, gf, err := vf.freeze(v)
				if !assertNoErr(t, err) {
					return
				}
				want, wf, _ := freezeValue(nil, v, true)
				if got != want || wf.digest != gf.digest {
					t.Errorf("concurrent freeze of %+v gave %+v, %s", v, got, gf.digest)
					return
				}
			}
		})
	}
	wg.Wait()
}

func assertNoErr(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}
