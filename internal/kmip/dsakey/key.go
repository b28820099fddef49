// Package dsakey is keywarden's codec for DSA keys in KMIP: the Transparent
// DSA Public and Private Key material (Key Format Types 9 and 8: P, Q, G and
// Y or X), their DER forms (X.509 SubjectPublicKeyInfo per RFC 3279 and
// PKCS#8 PrivateKeyInfo per RFC 5958), the validation of the domain
// parameters, and the rewrite of request messages that lets the ovh/kmip-go
// decoder, whose Key Material has no DSA case, carry such keys.
//
// Inside the server a Transparent DSA key travels and is stored as a
// standard key block ovh decodes (PKCS#8 for a private key, X.509 for a
// public key) whose Key Value carries the server attribute
// MarkerAttribute naming the format the client registered. The front end
// serves it back in that format by default (see internal/kmip/dsa.go).
// The package is pure: no I/O, no logging.
package dsakey

import (
	"math/big"
)

// Bounds on the domain parameters. FIPS 186-4 names L = 1024, 2048 or 3072
// and N = 160, 224 or 256; 512-bit P is accepted because the KMIP 2.1
// mandatory test vectors use it. The upper bounds keep the primality tests
// of a Register cheap (a few hundred milliseconds for a 4096-bit P).
const (
	MinPBits = 512
	MaxPBits = 4096
	MinQBits = 160
	MaxQBits = 512
)

// Params are the DSA domain parameters.
type Params struct {
	P, Q, G *big.Int
}

// PublicKey is a Transparent DSA Public Key.
type PublicKey struct {
	Params
	Y *big.Int
}

// PrivateKey is a Transparent DSA Private Key. It holds no Y: KMIP's
// Transparent DSA Private Key and PKCS#8 carry only X.
type PrivateKey struct {
	Params
	X *big.Int
}

// Error is a refused DSA key. Reason is a fixed text naming the faulty
// field, fit for a KMIP Result Message: it never holds key material.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "dsakey: " + e.Reason }

func invalid(reason string) error { return &Error{Reason: reason} }

// primeRounds is the number of Miller-Rabin rounds with random bases on top
// of the Baillie-PSW test big.Int.ProbablyPrime always runs. The test checks
// parameters a client chose for its own key, it does not generate them:
// Baillie-PSW has no known pseudoprime, and the random rounds keep a crafted
// one from passing; more rounds would multiply the cost of every Register.
const primeRounds = 2

var one = big.NewInt(1)

// Bits is the length of the key in bits: the length of P.
func (p Params) Bits() int32 {
	if p.P == nil {
		return 0
	}
	return int32(p.P.BitLen())
}

// Validate checks the domain parameters: P and Q prime within the bounds,
// Q dividing P-1, and G a generator of the subgroup of order Q
// (1 < G < P and G^Q = 1 mod P).
func (p Params) Validate() error {
	if p.P == nil || p.Q == nil || p.G == nil {
		return invalid("P, Q and G are required")
	}
	if p.P.Sign() <= 0 || p.Q.Sign() <= 0 || p.G.Sign() <= 0 {
		return invalid("P, Q and G must be positive")
	}
	if n := p.P.BitLen(); n < MinPBits || n > MaxPBits {
		return invalid("P must be 512 to 4096 bits long")
	}
	if n := p.Q.BitLen(); n < MinQBits || n > MaxQBits {
		return invalid("Q must be 160 to 512 bits long")
	}
	if p.Q.Cmp(p.P) >= 0 {
		return invalid("Q must be smaller than P")
	}
	pm1 := new(big.Int).Sub(p.P, one)
	if new(big.Int).Mod(pm1, p.Q).Sign() != 0 {
		return invalid("Q does not divide P-1")
	}
	if p.G.Cmp(one) <= 0 || p.G.Cmp(p.P) >= 0 {
		return invalid("G must lie between 1 and P")
	}
	if new(big.Int).Exp(p.G, p.Q, p.P).Cmp(one) != 0 {
		return invalid("G does not generate a subgroup of order Q")
	}
	// The cheap checks come first: the primality tests cost the most.
	if !p.Q.ProbablyPrime(primeRounds) {
		return invalid("Q is not prime")
	}
	if !p.P.ProbablyPrime(primeRounds) {
		return invalid("P is not prime")
	}
	return nil
}

// Validate checks the parameters and Y: 1 < Y < P and Y^Q = 1 mod P.
func (k *PublicKey) Validate() error {
	if err := k.Params.Validate(); err != nil {
		return err
	}
	if k.Y == nil || k.Y.Cmp(one) <= 0 || k.Y.Cmp(k.P) >= 0 {
		return invalid("Y must lie between 1 and P")
	}
	if new(big.Int).Exp(k.Y, k.Q, k.P).Cmp(one) != 0 {
		return invalid("Y is not in the subgroup of order Q")
	}
	return nil
}

// Validate checks the parameters and X: 0 < X < Q.
func (k *PrivateKey) Validate() error {
	if err := k.Params.Validate(); err != nil {
		return err
	}
	if k.X == nil || k.X.Sign() <= 0 || k.X.Cmp(k.Q) >= 0 {
		return invalid("X must lie between 0 and Q")
	}
	return nil
}
