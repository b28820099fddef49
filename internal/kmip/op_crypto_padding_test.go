package kmip

import (
	"encoding/hex"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// TestX923KnownAnswers encrypts with AES-128-CBC and ANSI X9.23 padding
// under the key and IV of SP 800-38A F.2.1 (whose first ciphertext block
// each answer starts with); the padded last blocks were computed with
// pyca/cryptography's ANSIX923 padder. Decrypt returns the plaintext.
func TestX923KnownAnswers(t *testing.T) {
	r := newTestRouter(t)
	id := registerSymmetric(t, r, unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"), keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt})
	iv := unhex(t, "000102030405060708090a0b0c0d0e0f")
	params := &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodANSIX9_23}
	tests := []struct{ name, plain, cipher string }{
		{"partial last block", "6bc1bee22e409f96e93d7e117393172aae2d8a57",
			"7649abac8119b246cee98e9b12e9197d22b4e437ccade2320960a46f72d163a5"},
		{"full padding block", "6bc1bee22e409f96e93d7e117393172a",
			"7649abac8119b246cee98e9b12e9197d9232ac254b8f94dc2df7c71d0d68c664"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{
				UniqueIdentifier: id, CryptographicParameters: params, Data: unhex(t, tc.plain), IVCounterNonce: iv})
			if got := hex.EncodeToString(enc.Data); got != tc.cipher {
				t.Fatalf("encrypt = %s, want %s", got, tc.cipher)
			}
			dec := ok[*payloads.DecryptResponsePayload](t, r, &payloads.DecryptRequestPayload{
				UniqueIdentifier: id, CryptographicParameters: params, Data: enc.Data, IVCounterNonce: iv})
			if got := hex.EncodeToString(dec.Data); got != tc.plain {
				t.Fatalf("decrypt = %s, want %s", got, tc.plain)
			}
		})
	}
}

// TestX923Unpadding checks the last block of a plaintext: the length byte
// from 1 to 16, zeros before it.
func TestX923Unpadding(t *testing.T) {
	block := func(tail ...byte) []byte {
		b := make([]byte, 32)
		for i := range 16 {
			b[i] = 0xaa
		}
		copy(b[32-len(tail):], tail)
		return b
	}
	full := block(16)
	full[16] = 0 // 15 zeros, then 16
	tests := []struct {
		name  string
		plain []byte
		want  int
		good  bool
	}{
		{"one byte", block(0x55, 1), 1, true},
		{"four bytes", block(0x55, 0, 0, 0, 4), 4, true},
		{"whole block", full, 16, true},
		{"nonzero filler", block(0x55, 0, 7, 0, 4), 0, false},
		{"length zero", block(0x55, 0), 0, false},
		{"length past the block", block(17), 0, false},
		{"PKCS5 padding is not X9.23", block(4, 4, 4, 4), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, good := paddingLen(kmip.PaddingMethodANSIX9_23, tc.plain)
			if good != tc.good || good && n != tc.want {
				t.Fatalf("paddingLen = %d, %v; want %d, %v", n, good, tc.want, tc.good)
			}
		})
	}
	if got := padding(kmip.PaddingMethodANSIX9_23, 13); !slices.Equal(got, []byte{0, 0, 3}) {
		t.Fatalf("padding after 13 bytes = %x", got)
	}
}

// TestX923DecryptRefusesBadPadding: a ciphertext whose plaintext does not
// end in X9.23 padding fails as a cryptographic failure.
func TestX923DecryptRefusesBadPadding(t *testing.T) {
	r := newTestRouter(t)
	id := registerSymmetric(t, r, unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"), keyOpts{mask: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt})
	iv := unhex(t, "000102030405060708090a0b0c0d0e0f")
	enc := ok[*payloads.EncryptResponsePayload](t, r, &payloads.EncryptRequestPayload{UniqueIdentifier: id, IVCounterNonce: iv,
		CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodPKCS5},
		Data:                    []byte("twelve bytes")})
	fails(t, r, &payloads.DecryptRequestPayload{UniqueIdentifier: id, IVCounterNonce: iv, Data: enc.Data,
		CryptographicParameters: &kmip.CryptographicParameters{BlockCipherMode: kmip.BlockCipherModeCBC, PaddingMethod: kmip.PaddingMethodANSIX9_23}},
		kmip.ResultReasonCryptographicFailure)
}
