package authz

import (
	"maps"
	"reflect"
	"slices"
)

// maxSchemaDepth stops ArgSchemaFor on recursive argument types.
const maxSchemaDepth = 8

// ArgSchemaFor lists the argument fields a tool whose arguments are the JSON
// encoding of t sends (for WithArgSchemas), by the same reading of
// encoding/json's rules the linter applies to Input: json tags, embedded
// structs (a shallower field hides a promoted one), and maps, interfaces,
// json.RawMessage and JSON marshalers accepting anything below them
// ("field.*"). toolguard.ArgSchemaOf calls it with a tool's argument type.
func ArgSchemaFor(tool string, t reflect.Type) ArgSchema {
	var fields []string
	flattenShape(shapeOf(t), "", 0, &fields)
	return ArgSchema{Tool: tool, Fields: fields}
}

func flattenShape(s *shape, prefix string, depth int, out *[]string) {
	if depth > maxSchemaDepth {
		return
	}
	switch s.kind {
	case shapeObject:
		for _, name := range slices.Sorted(maps.Keys(s.fields)) {
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			*out = append(*out, path)
			flattenShape(s.fields[name], path, depth+1, out)
		}
	case shapeArray: // every element has the same fields, under the same path
		flattenShape(s.elem, prefix, depth+1, out)
	case shapeAny, shapeArgs:
		if prefix == "" {
			*out = append(*out, "*") // the arguments themselves are free-form
		} else {
			*out = append(*out, prefix+".*")
		}
	}
}
