package toolguard

import (
	"reflect"

	"github.com/ztagent/ztagent/authz"
)

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
// Maps, interface values, json.RawMessage and types with their own JSON
// encoding accept any key below them ("field.*"). It is authz.ArgSchemaFor.
func ArgSchemaOf[A any](tool string) authz.ArgSchema {
	return authz.ArgSchemaFor(tool, reflect.TypeFor[A]())
}
