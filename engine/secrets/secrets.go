// Package secrets keeps secrets that Stride must store and later use — a
// webhook's signing key, a chat robot's token — encrypted at rest, with
// AES-256-GCM under a key that lives in the environment, never in the store
// (docs/security.md, "Secrets at rest").
//
// A sealed value is text: "enc:v1:<key id>:<base64url(nonce ‖ ciphertext)>".
// The key id names which key sealed it, so keys can be rotated: start the
// server with the new key in STRIDE_SECRET_KEY and the old one in
// STRIDE_SECRET_KEY_PREVIOUS; values sealed under the old key still open,
// and Rewrap re-seals them under the new one (a background or CLI pass can
// then drop the old key).
//
// Each value is bound to where it is stored (its "context", used as GCM
// additional data, e.g. "acme/webhook/wh_01…/signingKey"): a sealed value
// copied into another tenant's or another object's field does not open.
//
// The plaintext of a secret is never returned by the API: handlers keep it
// in a Redacted, which prints and marshals as "[redacted]".
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// Environment variables of FromEnv.
const (
	EnvKey      = "STRIDE_SECRET_KEY"
	EnvPrevious = "STRIDE_SECRET_KEY_PREVIOUS"
)

const prefix = "enc:v1:"

// Errors.
var (
	// ErrNoKey: no key is configured, so secrets cannot be stored.
	ErrNoKey = errors.New("secrets: no encryption key (set " + EnvKey + " to a base64 32-byte key, e.g. from `openssl rand -base64 32`)")
	// ErrUnknownKey: the value was sealed under a key the keyring does not have.
	ErrUnknownKey = errors.New("secrets: sealed under an unknown key (was the key rotated without keeping the previous one?)")
	// ErrCorrupt: the value is not a sealed value, was altered, or belongs to another context.
	ErrCorrupt = errors.New("secrets: the sealed value is malformed, altered, or belongs elsewhere")
)

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring seals with its primary key and opens with any of its keys.
type Keyring struct {
	primary key
	byID    map[string]key
}

// New returns a keyring sealing under primary and also opening values
// sealed under previous keys. Keys are KeySize bytes.
func New(primary []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{byID: map[string]key{}}
	for i, raw := range append([][]byte{primary}, previous...) {
		kk, err := newKey(raw)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("secrets: primary key: %w", err)
			}
			return nil, fmt.Errorf("secrets: previous key %d: %w", i, err)
		}
		if i == 0 {
			k.primary = kk
		}
		if _, dup := k.byID[kk.id]; !dup {
			k.byID[kk.id] = kk
		}
	}
	return k, nil
}

func newKey(raw []byte) (key, error) {
	if len(raw) != KeySize {
		return key{}, fmt.Errorf("want %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, err
	}
	return key{id: KeyID(raw), aead: aead}, nil
}

// KeyID is the public name of a key: 8 bytes of a domain-separated SHA-256,
// enough to tell keys apart, useless for guessing one.
func KeyID(raw []byte) string {
	h := sha256.Sum256(append([]byte("stride/secrets/key-id\x00"), raw...))
	return hex.EncodeToString(h[:8])
}

// ParseKey decodes a base64 (standard or URL alphabet, padded or not) key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("secrets: the key is %d bytes, want %d", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("secrets: the key is not base64")
}

// FromEnv builds the keyring from STRIDE_SECRET_KEY and the comma-separated
// STRIDE_SECRET_KEY_PREVIOUS. Without STRIDE_SECRET_KEY it returns ErrNoKey:
// the caller decides whether features that store secrets stay off.
func FromEnv() (*Keyring, error) {
	v := os.Getenv(EnvKey)
	if strings.TrimSpace(v) == "" {
		return nil, ErrNoKey
	}
	primary, err := ParseKey(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvKey, err)
	}
	var prev [][]byte
	for _, p := range strings.Split(os.Getenv(EnvPrevious), ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		b, err := ParseKey(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvPrevious, err)
		}
		prev = append(prev, b)
	}
	return New(primary, prev...)
}

// GenerateKey returns a new random key, base64-encoded for the environment.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// PrimaryID is the id of the key new values are sealed under.
func (k *Keyring) PrimaryID() string { return k.primary.id }

// Seal encrypts plaintext for storage at context (where it will be stored:
// tenant, object, field). Every call uses a fresh random nonce.
func (k *Keyring) Seal(plaintext []byte, context string) (string, error) {
	nonce := make([]byte, k.primary.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secrets: nonce: %w", err)
	}
	out := k.primary.aead.Seal(nonce, nonce, plaintext, aad(k.primary.id, context))
	return prefix + k.primary.id + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value sealed for context.
func (k *Keyring) Open(sealed, context string) ([]byte, error) {
	kk, blob, err := k.parse(sealed)
	if err != nil {
		return nil, err
	}
	ns := kk.aead.NonceSize()
	if len(blob) < ns+kk.aead.Overhead() {
		return nil, ErrCorrupt
	}
	pt, err := kk.aead.Open(nil, blob[:ns], blob[ns:], aad(kk.id, context))
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

// Rewrap re-seals a value under the primary key when an older key sealed
// it; changed says whether it did (store the new value then).
func (k *Keyring) Rewrap(sealed, context string) (out string, changed bool, err error) {
	kk, _, err := k.parse(sealed)
	if err != nil {
		return "", false, err
	}
	if kk.id == k.primary.id {
		return sealed, false, nil
	}
	pt, err := k.Open(sealed, context)
	if err != nil {
		return "", false, err
	}
	out, err = k.Seal(pt, context)
	clear(pt)
	return out, err == nil, err
}

// IsSealed reports whether s looks like a sealed value (not whether it opens).
func IsSealed(s string) bool { return strings.HasPrefix(s, prefix) }

func (k *Keyring) parse(sealed string) (key, []byte, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return key{}, nil, ErrCorrupt
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return key{}, nil, ErrCorrupt
	}
	kk, ok := k.byID[id]
	if !ok {
		return key{}, nil, ErrUnknownKey
	}
	blob, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return key{}, nil, ErrCorrupt
	}
	return kk, blob, nil
}

// aad binds a value to its format version, key and storage context.
func aad(keyID, context string) []byte {
	return []byte("stride/secrets/v1\x00" + keyID + "\x00" + context)
}

// Redacted holds a secret's plaintext in memory and never shows it: it
// prints, logs and marshals to JSON as "[redacted]". Reveal returns it.
type Redacted struct{ v string }

// NewRedacted wraps a plaintext secret.
func NewRedacted(v string) Redacted { return Redacted{v} }

// Reveal returns the plaintext, for the one place that uses it (signing a
// webhook, calling a robot).
func (r Redacted) Reveal() string { return r.v }

// IsZero reports whether no secret is set.
func (r Redacted) IsZero() bool { return r.v == "" }

const redacted = "[redacted]"

// Format covers every fmt verb (%d of a struct would otherwise print the field).
func (r Redacted) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

func (r Redacted) String() string               { return redacted }
func (r Redacted) GoString() string             { return redacted }
func (r Redacted) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (r Redacted) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (r Redacted) MarshalText() ([]byte, error) { return []byte(redacted), nil }
