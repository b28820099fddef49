package dsakey

import (
	//lint:ignore SA1019 crypto/dsa only checks that the encoded keys sign and verify
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
)

func TestPKIXRoundTripAndStdlib(t *testing.T) {
	pub := vectorPublic(t)
	der, err := pub.MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePKIX(der)
	if err != nil {
		t.Fatal(err)
	}
	if got.P.Cmp(pub.P) != 0 || got.Q.Cmp(pub.Q) != 0 || got.G.Cmp(pub.G) != 0 || got.Y.Cmp(pub.Y) != 0 {
		t.Fatal("round trip changed the key")
	}
	// The standard library reads DSA SubjectPublicKeyInfo (RFC 3279).
	std, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatalf("crypto/x509 refuses our encoding: %v", err)
	}
	k, ok := std.(*dsa.PublicKey)
	if !ok || k.Y.Cmp(pub.Y) != 0 || k.P.Cmp(pub.P) != 0 || k.Q.Cmp(pub.Q) != 0 || k.G.Cmp(pub.G) != 0 {
		t.Fatalf("crypto/x509 read %T with other values", std)
	}
}

func TestPKCS8RoundTripSignsForPKIX(t *testing.T) {
	priv := vectorPrivate(t)
	der, err := priv.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePKCS8(der)
	if err != nil {
		t.Fatal(err)
	}
	if got.X.Cmp(priv.X) != 0 || got.P.Cmp(priv.P) != 0 {
		t.Fatal("round trip changed the key")
	}
	// A signature by the decoded private key verifies with the vector's
	// public key read back from its X.509 encoding: both encodings hold the
	// same key pair.
	pubDER, err := vectorPublic(t).MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePKIX(pubDER)
	if err != nil {
		t.Fatal(err)
	}
	params := dsa.Parameters{P: got.P, Q: got.Q, G: got.G}
	sk := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: params, Y: pub.Y}, X: got.X}
	digest := sha256.Sum256([]byte("keywarden"))
	r, s, err := dsa.Sign(rand.Reader, sk, digest[:20])
	if err != nil {
		t.Fatal(err)
	}
	if !dsa.Verify(&dsa.PublicKey{Parameters: params, Y: pub.Y}, digest[:20], r, s) {
		t.Fatal("signature of the decoded key does not verify with the public key")
	}
}

func TestParseRefuses(t *testing.T) {
	pubDER, err := vectorPublic(t).MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := vectorPrivate(t).MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	noParams, err := asn1.Marshal(subjectPublicKeyInfo{Algorithm: algorithmIdentifier{Algorithm: oidDSA}, PublicKey: asn1.BitString{Bytes: []byte{2, 1, 5}, BitLength: 24}})
	if err != nil {
		t.Fatal(err)
	}
	badX := vectorPrivate(t)
	badX.X.Set(badX.Q)
	alg, err := badX.algorithm()
	if err != nil {
		t.Fatal(err)
	}
	xDER, _ := asn1.Marshal(badX.X)
	outOfRange, err := asn1.Marshal(privateKeyInfo{Algorithm: alg, PrivateKey: xDER})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		der     []byte
		private bool
		want    string
	}{
		{"public: empty", nil, false, "not a DER SubjectPublicKeyInfo"},
		{"public: truncated", pubDER[:len(pubDER)-1], false, "not a DER SubjectPublicKeyInfo"},
		{"public: trailing data", append(append([]byte(nil), pubDER...), 0), false, "not a DER SubjectPublicKeyInfo"},
		{"public: an EC key", ecPub, false, "not a DSA key"},
		{"public: parameters absent", noParams, false, "DSA parameters are absent"},
		{"private: truncated", privDER[:10], true, "not a DER PrivateKeyInfo"},
		{"private: an EC key", ecPriv, true, "not a DSA key"},
		{"private: X out of range", outOfRange, true, "X must lie between 0 and Q"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.private {
				_, err = ParsePKCS8(tc.der)
			} else {
				_, err = ParsePKIX(tc.der)
			}
			var de *Error
			if !errors.As(err, &de) || !strings.Contains(de.Reason, tc.want) {
				t.Fatalf("got %v, want a refusal naming %q", err, tc.want)
			}
		})
	}
}

func TestMarshalRefusesInvalidKeys(t *testing.T) {
	pub := vectorPublic(t)
	pub.Y.SetInt64(1)
	if _, err := pub.MarshalPKIX(); err == nil {
		t.Fatal("invalid public key encoded")
	}
	priv := vectorPrivate(t)
	priv.X.SetInt64(0)
	if _, err := priv.MarshalPKCS8(); err == nil {
		t.Fatal("invalid private key encoded")
	}
}
