package keys

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestPublicKeyBits(t *testing.T) {
	point := func(prefix byte, n int) asn1.BitString {
		b := make([]byte, n)
		b[0] = prefix
		return asn1.BitString{Bytes: b, BitLength: 8 * n}
	}
	ec := pkix.AlgorithmIdentifier{Algorithm: oidEC}
	tests := []struct {
		name string
		spki subjectPublicKeyInfo
		want int32
	}{
		{"uncompressed 256-bit point (secp256k1, P-256)", subjectPublicKeyInfo{ec, point(4, 65)}, 256},
		{"compressed 384-bit point", subjectPublicKeyInfo{ec, point(3, 49)}, 384},
		{"uncompressed P-521 point", subjectPublicKeyInfo{ec, point(4, 133)}, 521},
		{"unknown point encoding", subjectPublicKeyInfo{ec, point(7, 65)}, 0},
		{"RSA key that does not parse", subjectPublicKeyInfo{pkix.AlgorithmIdentifier{Algorithm: oidRSA}, point(0, 10)}, 0},
		{"unknown algorithm", subjectPublicKeyInfo{pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 3}}, point(4, 65)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := publicKeyBits(tc.spki); got != tc.want {
				t.Fatalf("publicKeyBits = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRDNStringKeepsCertificateOrder(t *testing.T) {
	// C=US, O=TEST, OU=OASIS, CN=KMIP-EC-secp256k1 as the OASIS vector's certificate encodes it.
	seq := pkix.Name{Country: []string{"US"}, Organization: []string{"TEST"}, OrganizationalUnit: []string{"OASIS"}, CommonName: "KMIP-EC-secp256k1"}.ToRDNSequence()
	der, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rdnString(der), "CN=KMIP-EC-secp256k1,OU=OASIS,O=TEST,C=US"; got != want {
		t.Fatalf("rdnString = %q, want %q", got, want)
	}
	if got := rdnString([]byte{0x30, 0x03}); got != "" {
		t.Fatalf("rdnString of a truncated name = %q, want empty", got)
	}
}
