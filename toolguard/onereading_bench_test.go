package toolguard

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/ztagent/ztagent/internal/jsonshape"
)

// BenchmarkFreezeNewArgs is the cost of freezing arguments the guard has
// not seen (a cache-miss call always has new ones), without the one-reading
// check, with it for a JSON tool, and with it for a typed tool.
func BenchmarkFreezeNewArgs(b *testing.B) {
	type msg struct {
		To      string   `json:"to"`
		CC      []string `json:"cc"`
		Subject string   `json:"subject"`
		Body    string   `json:"body"`
	}
	decls := []Dest{EmailArg("to"), EmailArg("cc").Optional()}
	tool := Tool{Name: "send", Effect: Write, Destinations: decls}
	jsonSpec, err := newArgSpec(&tool, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	typedSpec, err := newArgSpec(&tool, jsonshape.Of(reflect.TypeFor[msg]()), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		spec *argSpec
	}{{"unchecked", nil}, {"json", jsonSpec}, {"typed", typedSpec}} {
		b.Run(v.name, func(b *testing.B) {
			fz := newFreezer(decls, nil, v.spec)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				raw := []byte(`{"to":"bob@example.com","cc":["carol@example.com"],"subject":"report ` + strconv.Itoa(i) + `","body":"see attached"}`)
				if _, err := fz.freezeJSON(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
