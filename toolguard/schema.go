package toolguard

import (
	"reflect"
	"strings"

	"github.com/ztagent/ztagent/authz"
)

// maxSchemaDepth stops the walk on recursive argument types.
const maxSchemaDepth = 8

// ArgSchemaOf lists the argument fields a tool taking A sends to the policy
// (input.call.args), from A's JSON shape, for authz.WithArgSchemas: with it,
// a policy that reads an argument no tool sends is rejected before it is
// loaded instead of silently never matching.
//
//	eng, err := authz.New(ctx, authz.WithArgSchemas(
//		toolguard.ArgSchemaOf[SendArgs]("send_email"),
//		toolguard.ArgSchemaOf[FetchArgs]("fetch_url"),
//	))
//
// Maps and interface values accept any key below them ("field.*").
func ArgSchemaOf[A any](tool string) authz.ArgSchema {
	var fields []string
	walkSchema(reflect.TypeFor[A](), "", 0, &fields)
	return authz.ArgSchema{Tool: tool, Fields: fields}
}

func walkSchema(t reflect.Type, prefix string, depth int, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > maxSchemaDepth {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name, inline, ok := jsonName(f)
			if !ok {
				continue
			}
			if inline {
				walkSchema(f.Type, prefix, depth+1, out)
				continue
			}
			path := join(prefix, name)
			*out = append(*out, path)
			walkSchema(f.Type, path, depth+1, out)
		}
	case reflect.Map, reflect.Interface:
		if prefix != "" {
			*out = append(*out, prefix+".*")
		}
	case reflect.Slice, reflect.Array:
		walkSchema(t.Elem(), prefix, depth+1, out)
	}
}

// jsonName follows encoding/json's rules for a struct field.
func jsonName(f reflect.StructField) (name string, inline, ok bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false, false
	}
	name, _, _ = strings.Cut(tag, ",")
	if f.Anonymous && name == "" {
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			return "", true, true
		}
	}
	if !f.IsExported() {
		return "", false, false
	}
	if name == "" {
		name = f.Name
	}
	return name, false, true
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
