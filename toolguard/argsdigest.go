package toolguard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"hash"
	"sync"

	"github.com/ztagent/ztagent/internal/digest"
)

// ArgsDigestPrefix starts every arguments digest: an HMAC-SHA256 of the
// canonical arguments under the guard's key (WithArgsDigestKey).
const ArgsDigestPrefix = "hmac-sha256:"

// argsDigester computes the digest that names a call's arguments in its span,
// its decision record, the policy input and an approval request. It is keyed
// because those leave the process: a plain hash of arguments such as
// {"pin":"4821"} is found by hashing every guess, and a record that shows
// all arguments but a redacted one leaves only that one to guess.
type argsDigester struct {
	macs sync.Pool // hash.Hash: HMAC-SHA256 under the key
}

// argsKeyLen is the length of the key a guard makes up when none is given.
const argsKeyLen = 32

func newArgsDigester(key []byte) *argsDigester {
	if key == nil {
		key = make([]byte, argsKeyLen)
		_, _ = rand.Read(key) // never fails (crypto/rand)
	}
	key = append([]byte(nil), key...)
	return &argsDigester{macs: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// digest returns "hmac-sha256:<hex>" of canon. A nil digester is a plain
// HMAC without a key, for tests of the freezing alone.
func (d *argsDigester) digest(canon []byte) string {
	var mac hash.Hash
	if d == nil {
		mac = hmac.New(sha256.New, nil)
	} else {
		mac = d.macs.Get().(hash.Hash)
		defer d.macs.Put(mac)
		mac.Reset()
	}
	mac.Write(canon)
	var sum [sha256.Size]byte
	return digest.FormatWith(ArgsDigestPrefix, mac.Sum(sum[:0]))
}
