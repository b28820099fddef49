package interop

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// secret is key material that must never be found at rest.
type secret struct {
	what  string // e.g. "AES-256 key 3f2a…" (an id, never the material)
	value []byte
}

// needle is one encoding of a secret.
type needle struct {
	encoding string
	value    []byte
}

// minNeedle is the shortest encoded needle searched for: shorter ones
// would match random bytes by chance.
const minNeedle = 12

// encodings returns the forms in which b could sit in a file: raw, hex in
// lower and upper case, and base64 in the standard and URL alphabets with
// and without padding. Because b may sit at any offset inside a larger
// base64 text, the alignment-free forms are added too: for each shift s of
// 0, 1 or 2 bytes, the encoding of the longest run of whole 3-byte groups
// from b[s:], which appears verbatim whatever b's position in the text.
func encodings(b []byte) []needle {
	out := []needle{
		{"raw", b},
		{"hex", []byte(hex.EncodeToString(b))},
		{"HEX", []byte(strings.ToUpper(hex.EncodeToString(b)))},
	}
	alphabets := []struct {
		name         string
		padded, bare *base64.Encoding
	}{
		{"base64-std", base64.StdEncoding, base64.RawStdEncoding},
		{"base64-url", base64.URLEncoding, base64.RawURLEncoding},
	}
	for _, a := range alphabets {
		out = append(out,
			needle{a.name + "-padded", []byte(a.padded.EncodeToString(b))},
			needle{a.name + "-unpadded", []byte(a.bare.EncodeToString(b))},
		)
		for s := 0; s < 3 && s < len(b); s++ {
			run := b[s:]
			run = run[:len(run)-len(run)%3]
			if enc := a.bare.EncodeToString(run); len(enc) >= minNeedle {
				out = append(out, needle{fmt.Sprintf("%s-shift%d", a.name, s), []byte(enc)})
			}
		}
	}
	return out
}

// findLeaks reports where any encoding of any secret occurs in data.
func findLeaks(data []byte, secrets []secret) []string {
	var found []string
	for _, s := range secrets {
		for _, n := range encodings(s.value) {
			if i := bytes.Index(data, n.value); i >= 0 {
				found = append(found, fmt.Sprintf("%s as %s at offset %d", s.what, n.encoding, i))
			}
		}
	}
	return found
}

// TestFindLeaks proves the scanner sees a secret wherever and however it
// sits, so that a clean at-rest scan means something.
func TestFindLeaks(t *testing.T) {
	key := randomBytes(t, 32)
	s := []secret{{what: "test key", value: key}}
	embed := func(prefix int, enc func([]byte) string) []byte {
		doc := append(append(randomBytes(t, prefix), key...), randomBytes(t, 7)...)
		return []byte("header\n" + enc(doc) + "\ntrailer")
	}
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{name: "raw", data: append(append(randomBytes(t, 100), key...), randomBytes(t, 5)...), want: true},
		{name: "hex lower", data: embed(3, hex.EncodeToString), want: true},
		{name: "hex upper", data: embed(3, func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }), want: true},
		{name: "base64 std padded alone", data: []byte(base64.StdEncoding.EncodeToString(key)), want: true},
		{name: "base64 url unpadded alone", data: []byte("k=" + base64.RawURLEncoding.EncodeToString(key)), want: true},
		{name: "base64 std at offset 0", data: embed(0, base64.StdEncoding.EncodeToString), want: true},
		{name: "base64 std at offset 1", data: embed(1, base64.StdEncoding.EncodeToString), want: true},
		{name: "base64 std at offset 2", data: embed(2, base64.StdEncoding.EncodeToString), want: true},
		{name: "base64 url at offset 4", data: embed(4, base64.RawURLEncoding.EncodeToString), want: true},
		{name: "base64 url at offset 5", data: embed(5, base64.URLEncoding.EncodeToString), want: true},
		{name: "another key in every encoding", data: func() []byte {
			var all []byte
			for _, n := range encodings(randomBytes(t, 32)) {
				all = append(append(all, n.value...), '\n')
			}
			return all
		}(), want: false},
		{name: "random data", data: randomBytes(t, 1<<16), want: false},
		{name: "key with one byte changed", data: func() []byte {
			k := bytes.Clone(key)
			k[16] ^= 1
			return k
		}(), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := findLeaks(tc.data, s)
			if (len(got) > 0) != tc.want {
				t.Errorf("findLeaks = %v, want found %v", got, tc.want)
			}
		})
	}
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
