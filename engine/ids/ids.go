// Package ids makes identifiers: time-ordered, unguessable, URL-safe.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// Crockford-style lower-case alphabet: sorts like the bytes it encodes.
var enc = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// New returns prefix + "_" + a 26-character id whose first 48 bits are the
// millisecond time, so ids sort by creation time, followed by 80 random bits.
func New(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ panics
		// internally instead of returning an error), so this is unreachable.
		panic("ids: crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + enc.EncodeToString(b[:])
}

// Secret returns n random bytes encoded URL-safe, for tokens and passwords.
func Secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(enc.EncodeToString(b))
}
