// Package splitkey implements the secret sharing methods of the KMIP Split
// Key object (KMIP 1.2 to 1.4 section 2.2.5): XOR (n of n) and Shamir's
// polynomial sharing ("How to Share a Secret", 1979) over GF(2^8) and over
// a prime field GF(p).
//
// A secret is split into n shares, numbered 1 to n (the KMIP Key Part
// Identifier). With polynomial sharing, each share is the value at x = its
// number of a random polynomial of degree k-1 whose constant term is the
// secret; any k shares give the secret back by Lagrange interpolation at
// zero, fewer give no information about it. The random coefficients come
// from the reader the caller passes (crypto/rand in the server).
//
// GF(2^8) sharing works byte by byte, in the field
// GF(2)[x]/(x^8 + x^4 + x^3 + x^2 + 1): the field of the OASIS KMIP test
// vectors TC-SJ-2-12 and TC-SJ-3-12, whose published parts recombine
// there, byte for byte, and not in the AES field (see the tests).
//
// Prime field sharing treats the secret as one big-endian integer below
// the prime; a share is its value, big-endian, as wide as the prime.
//
// Nothing here detects a wrong or a missing share: interpolating through
// the wrong points yields a wrong secret. Callers check the number and the
// identity of the shares before joining.
package splitkey

import (
	"errors"
	"fmt"
	"io"
	"math/big"
)

var (
	// ErrParameters: the number of shares, the threshold or the field
	// does not allow a split.
	ErrParameters = errors.New("splitkey: invalid parameters")
	// ErrShares: the shares cannot be joined (none, numbered twice or out
	// of range, of different lengths, or not in the field).
	ErrShares = errors.New("splitkey: shares cannot be joined")
)

// Share is one part of a split secret: its number X (1 to n) and its
// value Y.
type Share struct {
	X int
	Y []byte
}

// SplitXOR splits secret into n shares whose XOR is the secret: shares 1
// to n-1 are random, share n is the secret XOR the others. All n are
// needed to join.
func SplitXOR(rand io.Reader, secret []byte, n int) ([]Share, error) {
	if n < 2 || len(secret) == 0 {
		return nil, fmt.Errorf("%w: XOR needs 2 shares or more of a non-empty secret", ErrParameters)
	}
	shares := make([]Share, n)
	last := make([]byte, len(secret))
	copy(last, secret)
	for i := range n - 1 {
		y := make([]byte, len(secret))
		if _, err := io.ReadFull(rand, y); err != nil {
			return nil, fmt.Errorf("splitkey: random: %w", err)
		}
		for j := range y {
			last[j] ^= y[j]
		}
		shares[i] = Share{X: i + 1, Y: y}
	}
	shares[n-1] = Share{X: n, Y: last}
	return shares, nil
}

// JoinXOR returns the XOR of the shares. It cannot tell whether every
// share is there: the caller checks that all n are.
func JoinXOR(shares []Share) ([]byte, error) {
	if err := checkShares(shares, 1<<31-1); err != nil {
		return nil, err
	}
	out := make([]byte, len(shares[0].Y))
	for _, s := range shares {
		for j := range out {
			out[j] ^= s.Y[j]
		}
	}
	return out, nil
}

// checkShares refuses an empty list, numbers outside 1..maxX or repeated,
// and values of different lengths.
func checkShares(shares []Share, maxX int) error {
	if len(shares) == 0 {
		return fmt.Errorf("%w: no share", ErrShares)
	}
	seen := map[int]bool{}
	for _, s := range shares {
		if s.X < 1 || s.X > maxX || seen[s.X] {
			return fmt.Errorf("%w: share number %d repeated or out of range", ErrShares, s.X)
		}
		seen[s.X] = true
		if len(s.Y) == 0 || len(s.Y) != len(shares[0].Y) {
			return fmt.Errorf("%w: share values differ in length", ErrShares)
		}
	}
	return nil
}

// checkSplit checks n shares with threshold k.
func checkSplit(n, k, maxN int, secret []byte) error {
	if len(secret) == 0 || k < 2 || k > n || n > maxN {
		return fmt.Errorf("%w: need 2 <= threshold <= shares <= %d and a non-empty secret", ErrParameters, maxN)
	}
	return nil
}

// SplitGF256 splits secret into n shares, any k of which join, by
// polynomial sharing over GF(2^8), byte by byte (n at most 255).
func SplitGF256(rand io.Reader, secret []byte, n, k int) ([]Share, error) {
	if err := checkSplit(n, k, 255, secret); err != nil {
		return nil, err
	}
	// coef[j][i] is coefficient j+1 of the polynomial of byte i.
	coef := make([][]byte, k-1)
	for j := range coef {
		coef[j] = make([]byte, len(secret))
		if _, err := io.ReadFull(rand, coef[j]); err != nil {
			return nil, fmt.Errorf("splitkey: random: %w", err)
		}
	}
	defer func() {
		for _, c := range coef {
			clear(c)
		}
	}()
	shares := make([]Share, n)
	for s := range shares {
		x := byte(s + 1)
		y := make([]byte, len(secret))
		for i := range secret {
			// Horner: ((c_{k-1} x + c_{k-2}) x + ... + c_1) x + secret.
			var acc byte
			for j := k - 2; j >= 0; j-- {
				acc = gfMul(acc^coef[j][i], x)
			}
			y[i] = acc ^ secret[i]
		}
		shares[s] = Share{X: s + 1, Y: y}
	}
	return shares, nil
}

// JoinGF256 interpolates the shares' polynomials at zero, byte by byte.
// With k shares of a threshold-k split it returns the secret.
func JoinGF256(shares []Share) ([]byte, error) {
	if err := checkShares(shares, 255); err != nil {
		return nil, err
	}
	out := make([]byte, len(shares[0].Y))
	for i, si := range shares {
		// Lagrange basis at 0: prod over j != i of x_j / (x_j - x_i);
		// subtraction is XOR in characteristic 2.
		num, den := byte(1), byte(1)
		for j, sj := range shares {
			if j == i {
				continue
			}
			num = gfMul(num, byte(sj.X))
			den = gfMul(den, byte(sj.X)^byte(si.X))
		}
		l := gfMul(num, gfInv(den))
		for b := range out {
			out[b] ^= gfMul(si.Y[b], l)
		}
	}
	return out, nil
}

// SplitPrime splits secret, read as a big-endian integer, into n shares,
// any k of which join, by polynomial sharing over GF(p). p must be a prime
// above 2^(8*len(secret)) and above n. Each share is big-endian, as wide
// as p.
func SplitPrime(rand io.Reader, secret []byte, p *big.Int, n, k int) ([]Share, error) {
	if err := checkSplit(n, k, 1<<16, secret); err != nil {
		return nil, err
	}
	if err := checkPrime(p, len(secret)); err != nil {
		return nil, err
	}
	coef := make([]*big.Int, k-1)
	for j := range coef {
		c, err := randInt(rand, p)
		if err != nil {
			return nil, err
		}
		coef[j] = c
	}
	s := new(big.Int).SetBytes(secret)
	width := (p.BitLen() + 7) / 8
	shares := make([]Share, n)
	for i := range shares {
		x := big.NewInt(int64(i + 1))
		acc := new(big.Int)
		for j := k - 2; j >= 0; j-- {
			acc.Add(acc, coef[j])
			acc.Mul(acc, x)
			acc.Mod(acc, p)
		}
		acc.Add(acc, s)
		acc.Mod(acc, p)
		shares[i] = Share{X: i + 1, Y: acc.FillBytes(make([]byte, width))}
	}
	return shares, nil
}

// JoinPrime interpolates the shares at zero in GF(p) and returns the
// secret as size big-endian bytes; a value that does not fit is refused.
func JoinPrime(shares []Share, p *big.Int, size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("%w: secret size %d", ErrShares, size)
	}
	if err := checkPrime(p, size); err != nil {
		return nil, err
	}
	maxX := 1 << 16
	if err := checkShares(shares, maxX); err != nil {
		return nil, err
	}
	sum := new(big.Int)
	for i, si := range shares {
		y := new(big.Int).SetBytes(si.Y)
		if y.Cmp(p) >= 0 {
			return nil, fmt.Errorf("%w: share %d is not in the field", ErrShares, si.X)
		}
		num, den := big.NewInt(1), big.NewInt(1)
		for j, sj := range shares {
			if j == i {
				continue
			}
			num.Mul(num, big.NewInt(int64(sj.X)))
			num.Mod(num, p)
			den.Mul(den, big.NewInt(int64(sj.X-si.X)))
			den.Mod(den, p)
		}
		inv := new(big.Int).ModInverse(den, p)
		if inv == nil {
			return nil, fmt.Errorf("%w: shares not invertible in the field", ErrShares)
		}
		y.Mul(y, num)
		y.Mul(y, inv)
		sum.Add(sum, y)
		sum.Mod(sum, p)
	}
	if (sum.BitLen()+7)/8 > size {
		return nil, fmt.Errorf("%w: the joined value does not fit the secret", ErrShares)
	}
	return sum.FillBytes(make([]byte, size)), nil
}

// checkPrime requires p prime and above 2^(8*size).
func checkPrime(p *big.Int, size int) error {
	if p == nil || p.BitLen() <= 8*size || !p.ProbablyPrime(32) {
		return fmt.Errorf("%w: the prime field size must be a prime above 2^%d", ErrParameters, 8*size)
	}
	return nil
}

// randInt returns a uniform integer in [0, p).
func randInt(rand io.Reader, p *big.Int) (*big.Int, error) {
	buf := make([]byte, (p.BitLen()+7)/8)
	excess := uint(len(buf)*8 - p.BitLen())
	for {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("splitkey: random: %w", err)
		}
		buf[0] &= byte(0xFF >> excess)
		v := new(big.Int).SetBytes(buf)
		if v.Cmp(p) < 0 {
			clear(buf)
			return v, nil
		}
	}
}
