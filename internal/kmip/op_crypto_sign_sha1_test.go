package kmip

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// TestSignSHA1OnlyWithRSAPSS: outside FIPS mode, RSA-PSS signs over SHA-1
// (the signature verifies with the standard library and through Signature
// Verify); PKCS#1 v1.5 and ECDSA over SHA-1 stay refused, and in FIPS
// mode RSA-PSS over SHA-1 is refused too.
func TestSignSHA1OnlyWithRSAPSS(t *testing.T) {
	r := newTestRouter(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign, verify := kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify
	rsaPriv, rsaPub := registerPair(t, r, rsaKey, kmip.CryptographicAlgorithmRSA, 2048, nil, sign, verify)
	ecPriv, _ := registerPair(t, r, ecKey, kmip.CryptographicAlgorithmECDSA, 256, nil, sign, verify)
	data := []byte("sign me with SHA-1")
	pss := kmip.CryptographicParameters{CryptographicAlgorithm: kmip.CryptographicAlgorithmRSA, PaddingMethod: kmip.PaddingMethodPSS, HashingAlgorithm: kmip.HashingAlgorithmSHA_1}
	tests := []struct {
		name    string
		key     string
		params  kmip.CryptographicParameters
		allowed bool
	}{
		{"RSA PSS padding method", rsaPriv, pss, !fips140.Enabled()},
		{"RSASSA-PSS algorithm", rsaPriv, kmip.CryptographicParameters{DigitalSignatureAlgorithm: kmip.DigitalSignatureAlgorithmRSASSA_PSS, HashingAlgorithm: kmip.HashingAlgorithmSHA_1}, !fips140.Enabled()},
		{"RSA PKCS#1 v1.5", rsaPriv, kmip.CryptographicParameters{DigitalSignatureAlgorithm: kmip.DigitalSignatureAlgorithmSHA_1WithRSAEncryption}, false},
		{"ECDSA with PSS parameters", ecPriv, kmip.CryptographicParameters{PaddingMethod: kmip.PaddingMethodPSS, HashingAlgorithm: kmip.HashingAlgorithmSHA_1}, false},
		{"ECDSA with SHA-1", ecPriv, kmip.CryptographicParameters{DigitalSignatureAlgorithm: kmip.DigitalSignatureAlgorithmECDSAWithSHA_1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := tc.params
			req := &payloads.SignRequestPayload{UniqueIdentifier: tc.key, CryptographicParameters: &params, Data: data}
			if !tc.allowed {
				fails(t, r, req, kmip.ResultReasonFeatureNotSupported)
				return
			}
			s := ok[*payloads.SignResponsePayload](t, r, req)
			d := sha1.Sum(data)
			if err := rsa.VerifyPSS(&rsaKey.PublicKey, crypto.SHA1, d[:], s.SignatureData, nil); err != nil {
				t.Fatalf("signature does not verify with the standard library: %v", err)
			}
			v := ok[*payloads.SignatureVerifyResponsePayload](t, r, &payloads.SignatureVerifyRequestPayload{
				UniqueIdentifier: rsaPub, CryptographicParameters: &params, Data: data, SignatureData: s.SignatureData})
			if v.ValidityIndicator != kmip.ValidityIndicatorValid {
				t.Fatalf("Signature Verify answers %v", v.ValidityIndicator)
			}
		})
	}
}
