package authz

import (
	"crypto/sha256"
	"hash"

	"github.com/ztagent/ztagent/internal/digest"
)

// revision identifies what decided: the same modules, data and query always
// give the same revision, whatever the order the modules were given in, so a
// decision record can be matched with the policy that produced it. modules
// come from PolicySet.normalize, in filename order.
func revision(modules []module, data []byte, query string) string {
	h := sha256.New()
	// Every field is length-prefixed so no two different inputs hash the same
	// byte stream (a module ending where the next begins).
	writeField(h, "ztagent.authz.revision.v1")
	for _, m := range modules {
		writeField(h, "module")
		writeField(h, m.filename)
		writeField(h, m.source)
	}
	writeField(h, "data")
	writeField(h, data)
	writeField(h, "query")
	writeField(h, query)
	return digest.Format(h.Sum(nil))
}

// writeField writes s length-prefixed, as the decision-cache key does.
func writeField[S ~string | ~[]byte](h hash.Hash, s S) {
	h.Write(appendStr(nil, s))
}
