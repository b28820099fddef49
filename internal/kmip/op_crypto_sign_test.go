package kmip

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

// registerPair registers a key pair in PKCS#8 and X.509 formats.
func registerPair(t *testing.T, r *Router, priv crypto.Signer, alg kmip.CryptographicAlgorithm, bits int32, params *kmip.CryptographicParameters, privMask, pubMask kmip.CryptographicUsageMask) (string, string) {
	t.Helper()
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	block := func(format kmip.KeyFormatType, der []byte) kmip.KeyBlock {
		return kmip.KeyBlock{KeyFormatType: format, CryptographicAlgorithm: alg, CryptographicLength: bits,
			KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &der}}}}
	}
	privID := register(t, r, kmip.ObjectTypePrivateKey, &kmip.PrivateKey{KeyBlock: block(kmip.KeyFormatTypePKCS_8, privDER)}, keyOpts{mask: privMask, params: params})
	pubID := register(t, r, kmip.ObjectTypePublicKey, &kmip.PublicKey{KeyBlock: block(kmip.KeyFormatTypeX_509, pubDER)}, keyOpts{mask: pubMask, params: params})
	return privID, pubID
}

func TestSignAndVerify(t *testing.T) {
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
	ecPriv, ecPub := registerPair(t, r, ecKey, kmip.CryptographicAlgorithmECDSA, 256, nil, sign, verify)
	data := []byte("sign me")

	tests := []struct {
		name       string
		priv, pub  string
		params     kmip.CryptographicParameters
		checkLocal func(sig []byte) error
	}{
		{"RSA PSS SHA-256", rsaPriv, rsaPub,
			kmip.CryptographicParameters{CryptographicAlgorithm: kmip.CryptographicAlgorithmRSA, PaddingMethod: kmip.PaddingMethodPSS, HashingAlgorithm: kmip.HashingAlgorithmSHA_256},
			func(sig []byte) error {
				d := sha256.Sum256(data)
				return rsa.VerifyPSS(&rsaKey.PublicKey, crypto.SHA256, d[:], sig, nil)
			}},
		{"RSA PKCS1 v1.5 SHA-384", rsaPriv, rsaPub,
			kmip.CryptographicParameters{DigitalSignatureAlgorithm: kmip.DigitalSignatureAlgorithmSHA_384WithRSAEncryption}, nil},
		{"RSA PSS SHA-512", rsaPriv, rsaPub,
			kmip.CryptographicParameters{DigitalSignatureAlgorithm: kmip.DigitalSignatureAlgorithmRSASSA_PSS, HashingAlgorithm: kmip.HashingAlgorithmSHA_512}, nil},
		{"ECDSA SHA-256", ecPriv, ecPub,
			kmip.CryptographicParameters{CryptographicAlgorithm: kmip.CryptographicAlgorithmECDSA, HashingAlgorithm: kmip.HashingAlgorithmSHA_256},
			func(sig []byte) error {
				d := sha256.Sum256(data)
				if !ecdsa.VerifyASN1(&ecKey.PublicKey, d[:], sig) {
					return errCryptoFailed
				}
				return nil
			}},
		{"ECDSA SHA-384", ecPriv, ecPub,
			kmip.CryptographicParameters{DigitalSignatureAlgorithm: kmip.DigitalSignatureAlgorithmECDSAWithSHA384}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := tc.params
			s := ok[*payloads.SignResponsePayload](t, r, &payloads.SignRequestPayload{UniqueIdentifier: tc.priv, CryptographicParameters: &params, Data: data})
			if tc.checkLocal != nil {
				if err := tc.checkLocal(s.SignatureData); err != nil {
					t.Fatalf("signature does not verify with the standard library: %v", err)
				}
			}
			cases := []struct {
				name string
				data []byte
				sig  []byte
				want kmip.ValidityIndicator
			}{
				{"valid", data, s.SignatureData, kmip.ValidityIndicatorValid},
				{"other data", []byte("sign mE"), s.SignatureData, kmip.ValidityIndicatorInvalid},
				{"changed signature", data, flip(s.SignatureData, len(s.SignatureData)-1), kmip.ValidityIndicatorInvalid},
			}
			for _, c := range cases {
				v := ok[*payloads.SignatureVerifyResponsePayload](t, r, &payloads.SignatureVerifyRequestPayload{UniqueIdentifier: tc.pub, CryptographicParameters: &params, Data: c.data, SignatureData: c.sig})
				if v.ValidityIndicator != c.want {
					t.Fatalf("%s: validity %s, want %s", c.name, ttlv.EnumStr(v.ValidityIndicator), ttlv.EnumStr(c.want))
				}
			}
		})
	}
	t.Run("no SHA-1 signatures", func(t *testing.T) {
		fails(t, r, &payloads.SignRequestPayload{UniqueIdentifier: rsaPriv, Data: data,
			CryptographicParameters: &kmip.CryptographicParameters{DigitalSignatureAlgorithm: kmip.DigitalSignatureAlgorithmSHA_1WithRSAEncryption}}, kmip.ResultReasonFeatureNotSupported)
	})
	t.Run("public key cannot sign", func(t *testing.T) {
		fails(t, r, &payloads.SignRequestPayload{UniqueIdentifier: rsaPub, Data: data}, kmip.ResultReasonPermissionDenied)
	})
	t.Run("RSA OAEP round trip", func(t *testing.T) {
		oaep := &kmip.CryptographicParameters{CryptographicAlgorithm: kmip.CryptographicAlgorithmRSA, PaddingMethod: kmip.PaddingMethodOAEP,
			HashingAlgorithm: kmip.HashingAlgorithmSHA_384, MaskGenerator: kmip.MaskGeneratorMGF1, MaskGeneratorHashingAlgorithm: kmip.HashingAlgorithmSHA_256, PSource: []byte("label")}
		priv, pub := registerPair(t, r, rsaKey, kmip.CryptographicAlgorithmRSA, 2048, oaep, kmip.CryptographicUsageDecrypt, kmip.CryptographicUsageEncrypt)
		enc := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: pub, Data: data})
		dec := ok[*payloads.DecryptResponsePayload](t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: priv, Data: enc.Data})
		if string(dec.Data) != string(data) {
			t.Fatalf("decrypt = %q", dec.Data)
		}
		local, err := rsaKey.Decrypt(nil, enc.Data, &rsa.OAEPOptions{Hash: crypto.SHA384, MGFHash: crypto.SHA256, Label: []byte("label")})
		if err != nil || string(local) != string(data) {
			t.Fatalf("standard library decrypt: %q, %v", local, err)
		}
		fails(t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: priv, Data: flip(enc.Data, 5)}, kmip.ResultReasonCryptographicFailure)
		pkcs1 := &kmip.CryptographicParameters{PaddingMethod: kmip.PaddingMethodPKCS1V1_5}
		fails(t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: pub, Data: data, CryptographicParameters: pkcs1}, kmip.ResultReasonFeatureNotSupported)
		fails(t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: priv, Data: enc.Data, CryptographicParameters: pkcs1}, kmip.ResultReasonFeatureNotSupported)
	})
}
