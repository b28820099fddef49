package dsakey

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	add := func(a *big.Int, d int64) *big.Int { return new(big.Int).Add(a, big.NewInt(d)) }
	tests := []struct {
		name   string
		mutate func(pub *PublicKey, priv *PrivateKey)
		want   string // reason substring; "" when valid
	}{
		{"vector key", func(*PublicKey, *PrivateKey) {}, ""},
		{"P absent", func(pub *PublicKey, _ *PrivateKey) { pub.P = nil }, "P, Q and G are required"},
		{"G zero", func(pub *PublicKey, _ *PrivateKey) { pub.G = new(big.Int) }, "must be positive"},
		{"P too short", func(pub *PublicKey, _ *PrivateKey) { pub.P = new(big.Int).Rsh(pub.P, 1) }, "P must be 512 to 4096 bits"},
		{"P too long", func(pub *PublicKey, _ *PrivateKey) { pub.P = new(big.Int).Lsh(big.NewInt(1), MaxPBits) }, "P must be 512 to 4096 bits"},
		{"Q too short", func(pub *PublicKey, _ *PrivateKey) { pub.Q = big.NewInt(65537) }, "Q must be 160 to 512 bits"},
		{"Q does not divide P-1", func(pub *PublicKey, _ *PrivateKey) { pub.Q = add(pub.Q, 2) }, "Q does not divide P-1"},
		{"G is one", func(pub *PublicKey, _ *PrivateKey) { pub.G = big.NewInt(1) }, "G must lie between 1 and P"},
		{"G equals P", func(pub *PublicKey, _ *PrivateKey) { pub.G = new(big.Int).Set(pub.P) }, "G must lie between 1 and P"},
		{"G of the wrong order", func(pub *PublicKey, _ *PrivateKey) { pub.G = big.NewInt(2) }, "G does not generate"},
		{"Y is one", func(pub *PublicKey, _ *PrivateKey) { pub.Y = big.NewInt(1) }, "Y must lie between 1 and P"},
		{"Y outside the subgroup", func(pub *PublicKey, _ *PrivateKey) { pub.Y = big.NewInt(2) }, "Y is not in the subgroup"},
		{"X zero", func(_ *PublicKey, priv *PrivateKey) { priv.X = new(big.Int) }, "X must lie between 0 and Q"},
		{"X equals Q", func(_ *PublicKey, priv *PrivateKey) { priv.X = new(big.Int).Set(priv.Q) }, "X must lie between 0 and Q"},
		{"X absent", func(_ *PublicKey, priv *PrivateKey) { priv.X = nil }, "X must lie between 0 and Q"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub, priv := vectorPublic(t), vectorPrivate(t)
			tc.mutate(pub, priv)
			err := pub.Validate()
			if err == nil {
				err = priv.Validate()
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid key refused: %v", err)
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) || !strings.Contains(de.Reason, tc.want) {
				t.Fatalf("got %v, want a refusal naming %q", err, tc.want)
			}
		})
	}
}

func TestValidateRefusesCompositeModulus(t *testing.T) {
	// A composite P' with Q | P'-1 and a G of order Q modulo P': the
	// structural checks pass, so only the primality test refuses it.
	p := vectorParams(t)
	step := new(big.Int).Lsh(p.Q, 1)
	bad := new(big.Int).Add(p.P, step)
	for bad.ProbablyPrime(20) {
		bad.Add(bad, step)
	}
	pm1 := new(big.Int).Sub(bad, one)
	e := new(big.Int).Div(pm1, p.Q)
	for h := int64(2); ; h++ {
		g := new(big.Int).Exp(big.NewInt(h), e, bad)
		if g.Cmp(one) != 0 && new(big.Int).Exp(g, p.Q, bad).Cmp(one) == 0 {
			p.P, p.G = bad, g
			break
		}
		if h > 1000 {
			t.Skip("no generator of order Q found for the composite modulus")
		}
	}
	var de *Error
	if err := p.Validate(); !errors.As(err, &de) || de.Reason != "P is not prime" {
		t.Fatalf("composite P: got %v", err)
	}
}

func TestBits(t *testing.T) {
	if got := vectorParams(t).Bits(); got != 512 {
		t.Fatalf("Bits = %d, want 512", got)
	}
	if got := (Params{}).Bits(); got != 0 {
		t.Fatalf("Bits of no P = %d", got)
	}
}
