package authz

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCacheKeyCoversEveryField sets each leaf field of Input, one at a time,
// found by reflection, and requires the key to change, so a field added to
// the input contract cannot be left out of the key by mistake. The only
// fields allowed not to change it are the documented ones.
func TestCacheKeyCoversEveryField(t *testing.T) {
	notInKey := map[string]bool{"Time": true} // bounded by the entry's time window instead
	for _, reads := range []policyReads{{}, {callID: true, callsUsed: true}} {
		c := newDecisionCache(8, reads, time.Now)
		excluded := map[string]bool{"Call.ID": !reads.callID, "Task.CallsUsed": !reads.callsUsed}
		base := func() *Input {
			return &Input{Call: Call{Destinations: []Destination{{}}}}
		}
		k0 := cacheKeyOf(c, base())
		n := 0
		forEachLeaf(t, reflect.TypeFor[Input](), "", func(path string, set func(reflect.Value)) {
			in := base()
			set(reflect.ValueOf(in).Elem())
			n++
			if notInKey[path] || excluded[path] {
				require.Equal(t, k0, cacheKeyOf(c, in), "%s must not be in the key (reads %+v)", path, reads)
				return
			}
			require.NotEqual(t, k0, cacheKeyOf(c, in), "%s is not in the decision cache key", path)
		})
		require.Greater(t, n, 20)
	}
}

// The policy sees input.task.expires_at in the time's own zone, so the same
// instant in two zones is two documents, and two keys; the same text is one.
func TestCacheKeyExpiresAtZone(t *testing.T) {
	c := newDecisionCache(8, policyReads{}, time.Now)
	at := func(tm time.Time) string { return cacheKeyOf(c, &Input{Task: Task{ExpiresAt: &tm}}) }
	utc := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	plus2 := utc.In(time.FixedZone("A", 2*3600))
	require.True(t, utc.Equal(plus2))
	require.NotEqual(t, timeTerm(utc).Value, timeTerm(plus2).Value, "the policy sees two different times")
	require.NotEqual(t, at(utc), at(plus2))
	require.Equal(t, at(plus2), at(utc.In(time.FixedZone("B", 2*3600))), "same text, same key")
	require.NotEqual(t, at(utc), cacheKeyOf(c, &Input{}), "set and unset differ")
}

// cacheKeyOf is the key of in, as bytes the test may keep.
func cacheKeyOf(c *decisionCache, in *Input) string {
	k := c.key(in)
	defer k.release()
	return string(k.b)
}

// A key past maxInlineKey is kept as a digest: as short as an inline key,
// still different for different inputs, and never equal to an inline key.
func TestCacheKeyLongInputIsDigested(t *testing.T) {
	c := newDecisionCache(8, policyReads{}, time.Now)
	long := func(fill byte) *Input {
		return &Input{Call: Call{Args: json.RawMessage(`"` + strings.Repeat(string(fill), 2*maxInlineKey) + `"`)}}
	}
	a, b := cacheKeyOf(c, long('a')), cacheKeyOf(c, long('b'))
	require.Len(t, a, 1+sha256.Size)
	require.Equal(t, byte(keyDigest), a[0])
	require.NotEqual(t, a, b)
	require.Equal(t, a, cacheKeyOf(c, long('a')))
	short := cacheKeyOf(c, &Input{})
	require.Equal(t, byte(keyInline), short[0])
	require.LessOrEqual(t, len(short), maxInlineKey)
}

// Every field is length-prefixed: moving bytes from one field to the next,
// or an element from one list to the next, makes another key.
func TestCacheKeyFieldBoundaries(t *testing.T) {
	c := newDecisionCache(8, policyReads{}, time.Now)
	pairs := [][2]*Input{
		{{Subject: Subject{SPIFFEID: "ab", TrustDomain: "c"}}, {Subject: Subject{SPIFFEID: "a", TrustDomain: "bc"}}},
		{{Principal: Principal{Chain: []string{"a", "b"}}}, {Principal: Principal{Chain: []string{"ab"}}}},
		{{Principal: Principal{Chain: []string{"a"}}, Task: Task{Scopes: []string{}}}, {Principal: Principal{Chain: []string{}}, Task: Task{Scopes: []string{"a"}}}},
		{{Call: Call{Destinations: []Destination{{Host: "a", Path: "b"}}}}, {Call: Call{Destinations: []Destination{{Host: "ab"}}}}},
		{{Call: Call{Destinations: []Destination{{Port: 1}}}}, {Call: Call{Destinations: []Destination{{Port: 256}}}}},
	}
	for i, p := range pairs {
		require.NotEqual(t, cacheKeyOf(c, p[0]), cacheKeyOf(c, p[1]), "pair %d", i)
	}
}

// An entry serves only the key it was stored for, byte for byte: two keys
// that share a slot and even the whole hash are still two keys.
func TestCacheHitNeedsTheWholeKey(t *testing.T) {
	c := newDecisionCache(8, policyReads{}, time.Now)
	now := time.Now()
	in := &Input{Time: now}
	d := Decision{Allow: true, CacheTTL: time.Minute}
	stored := &cacheKey{b: []byte("stored"), h: 42}
	c.put(stored, in, &d) // first miss: noted only
	c.put(stored, in, &d)
	_, ok := c.get(stored, now)
	require.True(t, ok, "stored at its second miss")
	_, ok = c.get(&cacheKey{b: []byte("other"), h: 42}, now)
	require.False(t, ok, "same hash, different key: a miss")
}

// forEachLeaf calls f with a setter for every leaf field under typ; slices
// of structs are walked through their first element.
func forEachLeaf(t *testing.T, typ reflect.Type, prefix string, f func(string, func(reflect.Value))) {
	for i := range typ.NumField() {
		fld := typ.Field(i)
		path := fld.Name
		if prefix != "" {
			path = prefix + "." + fld.Name
		}
		idx := i
		sub := func(set func(reflect.Value)) func(reflect.Value) {
			return func(v reflect.Value) { set(v.Field(idx)) }
		}
		switch {
		case fld.Type == reflect.TypeFor[time.Time]():
			f(path, sub(func(v reflect.Value) { v.Set(reflect.ValueOf(time.Unix(1, 0))) }))
		case fld.Type == reflect.TypeFor[*time.Time]():
			f(path, sub(func(v reflect.Value) { tm := time.Unix(1, 0); v.Set(reflect.ValueOf(&tm)) }))
		case fld.Type == reflect.TypeFor[json.RawMessage]():
			f(path, sub(func(v reflect.Value) { v.SetBytes([]byte(`{}`)) }))
		case fld.Type.Kind() == reflect.Struct:
			forEachLeaf(t, fld.Type, path, func(p string, set func(reflect.Value)) { f(p, sub(set)) })
		case fld.Type.Kind() == reflect.Slice && fld.Type.Elem().Kind() == reflect.Struct:
			forEachLeaf(t, fld.Type.Elem(), path, func(p string, set func(reflect.Value)) {
				f(p, sub(func(v reflect.Value) {
					if v.Len() == 0 {
						v.Set(reflect.MakeSlice(v.Type(), 1, 1))
					}
					set(v.Index(0))
				}))
			})
		case fld.Type.Kind() == reflect.Pointer && fld.Type.Elem().Kind() == reflect.Struct:
			elem := fld.Type.Elem()
			forEachLeaf(t, elem, path, func(p string, set func(reflect.Value)) {
				f(p, sub(func(v reflect.Value) {
					if v.IsNil() {
						v.Set(reflect.New(elem))
					}
					set(v.Elem())
				}))
			})
		case fld.Type.Kind() == reflect.Map && fld.Type.Key().Kind() == reflect.String:
			elem := fld.Type.Elem()
			put := func(v reflect.Value, e reflect.Value) {
				m := reflect.MakeMap(v.Type())
				m.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
				v.Set(m)
			}
			if elem.Kind() == reflect.Struct {
				forEachLeaf(t, elem, path+"[k]", func(p string, set func(reflect.Value)) {
					f(p, sub(func(v reflect.Value) {
						e := reflect.New(elem).Elem()
						set(e)
						put(v, e)
					}))
				})
				break
			}
			f(path+"[k]", sub(func(v reflect.Value) { put(v, reflect.ValueOf(1.0).Convert(elem)) }))
		case fld.Type.Kind() == reflect.Float64:
			f(path, sub(func(v reflect.Value) { v.SetFloat(1) }))
		case fld.Type.Kind() == reflect.Slice && fld.Type.Elem().Kind() == reflect.String:
			f(path, sub(func(v reflect.Value) { v.Set(reflect.ValueOf([]string{"x"})) }))
		case fld.Type.Kind() == reflect.String:
			f(path, sub(func(v reflect.Value) { v.SetString("x") }))
		case fld.Type.Kind() == reflect.Int:
			f(path, sub(func(v reflect.Value) { v.SetInt(1) }))
		case fld.Type.Kind() == reflect.Bool:
			f(path, sub(func(v reflect.Value) { v.SetBool(true) }))
		default:
			t.Fatalf("%s: type %s is not handled: teach the decision cache key and this test about it", path, fld.Type)
		}
	}
}

// What the cache stores and hands out shares no memory with anything else,
// and its lists cannot reach one another through an append.
func TestDetachedSharesNothing(t *testing.T) {
	d := Decision{
		Reasons:    []Reason{{Code: "a"}},
		Credential: CredentialGrant{Scopes: []string{"s1", "s2"}},
		Egress:     Egress{Hosts: make([]string, 1, 8)},
		Redact:     nil,
	}
	d.Egress.Hosts[0] = "h"
	c := detached(d)
	require.Equal(t, d, c)
	require.Nil(t, c.Redact, "nil stays nil")
	c.Reasons[0].Code = "changed"
	c.Credential.Scopes[0] = "changed"
	c.Egress.Hosts[0] = "changed"
	require.Equal(t, "a", d.Reasons[0].Code)
	require.Equal(t, []string{"s1", "s2"}, d.Credential.Scopes)
	require.Equal(t, []string{"h"}, d.Egress.Hosts)
	c.Credential.Scopes = append(c.Credential.Scopes, "appended")
	require.Equal(t, []string{"changed"}, c.Egress.Hosts, "an append to one list does not write into the next")

	empty := detached(Decision{Egress: Egress{Hosts: make([]string, 0, 4)}})
	require.NotNil(t, empty.Egress.Hosts, "empty stays empty, not nil")
	require.Zero(t, cap(empty.Egress.Hosts))
}
