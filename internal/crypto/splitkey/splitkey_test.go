package splitkey

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGFMul checks products worked out by hand modulo
// x^8 + x^4 + x^3 + x^2 + 1.
func TestGFMul(t *testing.T) {
	tests := []struct {
		name    string
		a, b, p byte
	}{
		{"zero", 0x57, 0x00, 0x00},
		{"one", 0x57, 0x01, 0x57},
		{"no reduction: (x+1)^2 = x^2+1", 0x03, 0x03, 0x05},
		{"x * x^7 = x^8 = x^4+x^3+x^2+1", 0x02, 0x80, 0x1D},
		{"x^7 * x^7 = x^14", 0x80, 0x80, 0x13},
		{"2 * 0x67 (TC-SJ-2 byte 0)", 0x67, 0x02, 0xCE},
		{"4 * 0x67 (TC-SJ-2 byte 0)", 0x67, 0x04, 0x81},
		{"2 * 0x8E = 1", 0x02, 0x8E, 0x01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gfMul(tc.a, tc.b); got != tc.p {
				t.Errorf("gfMul(%#02x, %#02x) = %#02x, want %#02x", tc.a, tc.b, got, tc.p)
			}
			if got := gfMul(tc.b, tc.a); got != tc.p {
				t.Errorf("gfMul(%#02x, %#02x) = %#02x, want %#02x (commuted)", tc.b, tc.a, got, tc.p)
			}
		})
	}
}

// TestGFInv checks every non-zero element has the inverse gfInv finds:
// the modulus is irreducible, so GF(2^8) is a field.
func TestGFInv(t *testing.T) {
	if got := gfInv(0x02); got != 0x8E {
		t.Errorf("gfInv(2) = %#02x, want 0x8e", got)
	}
	for a := 1; a < 256; a++ {
		if p := gfMul(byte(a), gfInv(byte(a))); p != 1 {
			t.Fatalf("%#02x * gfInv(%#02x) = %#02x", a, a, p)
		}
	}
}

// vectorHex are the parts 1 to 4 the OASIS vectors TC-SJ-2-12 and
// TC-SJ-3-12 give for the key 0102030405060708090A0B0C0D0E0F10, split 2 of
// 4 with Polynomial Sharing GF(2^8). In the AES field
// (x^8 + x^4 + x^3 + x + 1) they do not lie on one line: part 2 over part
// 1 is 2 in byte 0 (CE/67) but not in byte 1 (91/C6), so that field
// cannot have produced them.
var vectorHex = []string{
	"66C46A7754F94DE420C7B1A7FFF5EC56",
	"CF93D1E2A7E593CD5B8D6247F4E5D49C",
	"A855B891F61AD9217240D8EC061E37DA",
	"803DBAD55CDD329FAD19D99AE2C5A415",
}

func TestJoinGF256Vectors(t *testing.T) {
	want := unhex(t, "0102030405060708090A0B0C0D0E0F10")
	parts := make([]Share, len(vectorHex))
	for i := range parts {
		parts[i] = Share{X: i + 1, Y: unhex(t, vectorHex[i])}
	}
	for i := range parts {
		for j := i + 1; j < len(parts); j++ {
			t.Run(hex.EncodeToString([]byte{byte(i + 1), byte(j + 1)}), func(t *testing.T) {
				got, err := JoinGF256([]Share{parts[j], parts[i]})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("join = %X, want %X", got, want)
				}
			})
		}
		t.Run("one part alone", func(t *testing.T) {
			got, err := JoinGF256([]Share{parts[i]})
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, want) {
				t.Errorf("part %d alone gave the secret", i+1)
			}
		})
	}
}

// TestSplitGF256Fixed splits with a known coefficient: f(x) = 0x01 + 0x67 x
// gives the first byte of each vector part.
func TestSplitGF256Fixed(t *testing.T) {
	shares, err := SplitGF256(bytes.NewReader([]byte{0x67}), []byte{0x01}, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x66, 0xCF, 0xA8, 0x80}
	for i, s := range shares {
		if s.X != i+1 || len(s.Y) != 1 || s.Y[0] != want[i] {
			t.Errorf("share %d = %d:%X, want %d:%X", i, s.X, s.Y, i+1, want[i])
		}
	}
}

// TestSplitPrimeFixed: f(x) = 42 + 62x + 32x^2 over GF(257), by hand:
// f(1) = 136, f(2) = 294 = 37, f(3) = 516 = 2, f(4) = 802 = 31,
// f(5) = 1152 = 124 (mod 257).
func TestSplitPrimeFixed(t *testing.T) {
	p := big.NewInt(257)
	coefs := bytes.NewReader([]byte{0x00, 62, 0x00, 32})
	shares, err := SplitPrime(coefs, []byte{42}, p, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{136, 37, 2, 31, 124}
	for i, s := range shares {
		if got := new(big.Int).SetBytes(s.Y).Int64(); s.X != i+1 || len(s.Y) != 2 || got != int64(want[i]) {
			t.Errorf("share %d = %d:%d (%d bytes), want %d:%d", i, s.X, got, len(s.Y), i+1, want[i])
		}
	}
	got, err := JoinPrime([]Share{shares[4], shares[0], shares[3]}, p, 1)
	if err != nil || !bytes.Equal(got, []byte{42}) {
		t.Errorf("join of 5, 1, 4 = %v, %v; want 42", got, err)
	}
}

// subsets returns every subset of {0..n-1} of size k.
func subsets(n, k int) [][]int {
	if k == 0 {
		return [][]int{nil}
	}
	var out [][]int
	for first := 0; first <= n-k; first++ {
		for _, rest := range subsets(n-first-1, k-1) {
			s := []int{first}
			for _, r := range rest {
				s = append(s, first+1+r)
			}
			out = append(out, s)
		}
	}
	return out
}

func pick(shares []Share, idx []int) []Share {
	var out []Share
	for _, i := range idx {
		out = append(out, shares[i])
	}
	return out
}

func TestRoundTrips(t *testing.T) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	// 2^256 + 297 is the first prime above 2^256.
	p := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(297))
	methods := []struct {
		name  string
		split func(n, k int) ([]Share, error)
		join  func([]Share) ([]byte, error)
	}{
		{"GF(2^8)", func(n, k int) ([]Share, error) { return SplitGF256(rand.Reader, secret, n, k) }, JoinGF256},
		{"prime field", func(n, k int) ([]Share, error) { return SplitPrime(rand.Reader, secret, p, n, k) },
			func(s []Share) ([]byte, error) { return JoinPrime(s, p, len(secret)) }},
	}
	for _, m := range methods {
		for _, nk := range [][2]int{{2, 2}, {4, 2}, {5, 3}, {6, 6}} {
			n, k := nk[0], nk[1]
			t.Run(m.name, func(t *testing.T) {
				shares, err := m.split(n, k)
				if err != nil {
					t.Fatal(err)
				}
				for _, idx := range subsets(n, k) {
					got, err := m.join(pick(shares, idx))
					if err != nil || !bytes.Equal(got, secret) {
						t.Errorf("%d of %d, shares %v: %X, %v", k, n, idx, got, err)
					}
				}
				for _, idx := range subsets(n, k-1) {
					got, err := m.join(pick(shares, idx))
					if err == nil && bytes.Equal(got, secret) {
						t.Errorf("%d of %d: shares %v, fewer than the threshold, gave the secret", k, n, idx)
					}
				}
			})
		}
	}
	t.Run("XOR", func(t *testing.T) {
		shares, err := SplitXOR(rand.Reader, secret, 4)
		if err != nil {
			t.Fatal(err)
		}
		got, err := JoinXOR([]Share{shares[3], shares[1], shares[0], shares[2]})
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("join of all = %X, %v", got, err)
		}
		for _, idx := range subsets(4, 3) {
			if got, err := JoinXOR(pick(shares, idx)); err == nil && bytes.Equal(got, secret) {
				t.Errorf("shares %v gave the secret", idx)
			}
		}
	})
}

// TestJoinXORVector joins the four parts TC-SJ-4-12 published.
func TestJoinXORVector(t *testing.T) {
	var shares []Share
	for i, h := range []string{"d4b92c299199298e30dee13b967e6dda", "35ea4f615686230c7b11538693674e89",
		"3478ddd2e1f89f2005011d26d9fff37c", "d429bd9e23e192aa47c4a497d1e8df3f"} {
		shares = append(shares, Share{X: i + 1, Y: unhex(t, h)})
	}
	got, err := JoinXOR(shares)
	if want := unhex(t, "0102030405060708090a0b0c0d0e0f10"); err != nil || !bytes.Equal(got, want) {
		t.Errorf("join = %X, %v; want %X", got, err, want)
	}
}

func TestRefusals(t *testing.T) {
	sec := []byte{1, 2, 3}
	p := big.NewInt(16777259) // prime, above 2^24
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"threshold 1", errOf(SplitGF256(rand.Reader, sec, 3, 1)), ErrParameters},
		{"threshold above parts", errOf(SplitGF256(rand.Reader, sec, 3, 4)), ErrParameters},
		{"256 parts", errOf(SplitGF256(rand.Reader, sec, 256, 2)), ErrParameters},
		{"empty secret", errOf(SplitGF256(rand.Reader, nil, 3, 2)), ErrParameters},
		{"XOR of one part", errOf(SplitXOR(rand.Reader, sec, 1)), ErrParameters},
		{"prime too small", errOf(SplitPrime(rand.Reader, sec, big.NewInt(257), 3, 2)), ErrParameters},
		{"not a prime", errOf(SplitPrime(rand.Reader, sec, big.NewInt(16777261), 3, 2)), ErrParameters},
		{"no prime", errOf(SplitPrime(rand.Reader, sec, nil, 3, 2)), ErrParameters},
		{"prime ok", errOf(SplitPrime(rand.Reader, sec, p, 3, 2)), nil},
		{"no share", errOf(JoinGF256(nil)), ErrShares},
		{"same part twice", errOf(JoinGF256([]Share{{1, sec}, {1, sec}})), ErrShares},
		{"part 0", errOf(JoinGF256([]Share{{0, sec}, {1, sec}})), ErrShares},
		{"lengths differ", errOf(JoinXOR([]Share{{1, sec}, {2, sec[:2]}})), ErrShares},
		{"share outside the field", errOf(JoinPrime([]Share{{1, []byte{0xFF, 0xFF, 0xFF, 0xFF}}, {2, sec}}, p, 3)), ErrShares},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) || (tc.want == nil) != (tc.err == nil) {
				t.Errorf("err = %v, want %v", tc.err, tc.want)
			}
		})
	}
}

func errOf[T any](_ T, err error) error { return err }

// aesMul multiplies in the AES field, x^8 + x^4 + x^3 + x + 1, for
// TestVectorsAreNotAESField only.
func aesMul(a, b byte) byte {
	var p byte
	for range 8 {
		if b&1 != 0 {
			p ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1B
		}
		b >>= 1
	}
	return p
}

// TestVectorsAreNotAESField records why the field is not the AES one: a
// 2-of-4 split puts each byte's parts on a line, so with the secret s,
// part 2 - s = 2 (part 1 - s) in every byte. That holds for the published
// parts in this package's field and fails in the AES field.
func TestVectorsAreNotAESField(t *testing.T) {
	s := unhex(t, "0102030405060708090A0B0C0D0E0F10")
	p1, p2 := unhex(t, vectorHex[0]), unhex(t, vectorHex[1])
	ours, aes := true, true
	for i := range s {
		a := p1[i] ^ s[i]
		ours = ours && gfMul(a, 2) == p2[i]^s[i]
		aes = aes && aesMul(a, 2) == p2[i]^s[i]
	}
	if !ours || aes {
		t.Errorf("the parts lie on lines in this field: %v, in the AES field: %v", ours, aes)
	}
}
