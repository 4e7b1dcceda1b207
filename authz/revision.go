package authz

import (
	"crypto/sha256"
	"encoding/binary"
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
	writeField(h, string(data))
	writeField(h, "query")
	writeField(h, query)
	return digest.Format(h.Sum(nil))
}

func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
