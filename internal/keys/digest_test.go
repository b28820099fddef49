package keys

import (
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/ovh/kmip-go"
)

// The key material and digests below are those of the OASIS KMIP 1.1 test
// vectors TC-181-11 (symmetric keys) and TC-182-11 (RSA private keys).
const (
	vecAESKey   = "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff"
	vecPKCS1Key = "308204a50201000282010100ab7f161c0042496ccd6c6d4dadb919973435357776003acf54b7af1e440afb80b64a8755f8002cfeba6b184540a2d66086d74648346d75b8d71812b205387c0f6583bc4d7dc7ec114f3b176b7957c422e7d03fc6267fa2a6f89b9bee9e60a1d7c2d833e5a5f4bb0b1434f4e795a41100f8aa214900df8b65089f98135b1c67b701675abdbc7d5721aac9d14a7f081fcec80b64e8a0ecc8295353c795328abf70e1b42e7bb8b7f4e8ac8c810cdb66e3d21126eba8da7d0ca34142cb76f91f013da809e9c1b7ae64c54130fbc21d80e9c2cb06c5c8d7cce8946a9ac99b1c2815c3612a29a82d73a1f99374fe30e54951662a6eda29c6fc411335d5dc7426b0f6050203010001028201003b12455d53c1816516c518493f6398aafa72b17dfa894db888a7d48c0a47f62579a4e644f86da711fec850cdd9dbbd17f69a443d2ec1dd60d3c618fa74cde5fdafabd6baa26eb0a3adb4def6480fb1218cd3b083e252e885b6f0729f98b2144d2b72293e1b11d73393bc41f75b15ee3d7569b4995ed1a14425da4319b7b26b0e8fef17c37542ae5c6d5849f87209567f3925a47b016d564859717bc57fcb4522d0aa49ce816e5be7b3088193236ec9efff140858045b73c5d79baf38f7c67f04c5dcf0e3806ad982d1259058c3473e847179a878f2c6b3bd968fb99ea46e9185892f3676e78965c2aed4877ba3917df07c5e927474f19e764ba61dc38d63bf2902818100d5c69c8c3cdc2464744a793713dafb9f1dbc799ff96423fecd3cba794286bce920f4b5c183f99ee9028db6212c6277c4c8297fcfbce7f7c24ca4c51fc7182fb8f4019fb1d5659674c5cbe6d5fa992051341760cd00735729a070a9e54d342beba8ef47ee82d3a01b04cec4a00d4ddb41e35116fc221e854b43a696c0e6419b1b02818100cd5ea7702789064b673540cbff09356ad80bc3d592812eba47610b9fac6aecefe22acae438459cda74e59653d88c04189d34399bf5b14b920e34ef38a7d09fe69593396e8fe735e6f0a6ae4990401041d8a406b6fd86a1161e45f95a3eaa5c1012e6662e44f15f335ac971e1766b2bb9c985109974141b44d37e1e319820a55f02818100b2871237bf9fad38c3316ab7877a6a868063e542a7186d431e8d27c19ac0414584033942e9ff6e2973bb7b2d8b0e94ad1ee82158108fbc8664517a5a467fb963014bd5dcc2b4fb087c23039d11920dbe22fd9f16b4d89e23225cd455adbaf32ef43f185864a36d630309d6853f7714b39aae1ebee3938f87c2707e178c739f9f028181009690bed14b2afaa26d986d592231ee27d71d49065bd2ba1f78157e20229881fd9d23227d0f8479eaefa922fd75d5b16b1a561fa6680b040ca0bdce650b23b917a4b1bb7983a74fad70e1c305cbec2bff1a85a726a1d90260e4f1084f518234dcd3fe770b9520215bd543bb6a4117718754676a34171666a79f26e79c149c5aa102818100a0c985a0a0a791a659f99731134c44f37b2e520a2cea35800ad27241ed360dfde6e8ca614f12047fd08b76ac4d13c056a0699e2f98a1cac91011294d71208f4abab33ba87aa0517f415baca88d6bac006088fa601d349417e1f0c9b23affa4d496618dbc024986ed690bbb7b025768ff9df8ac15416f489f8129c32341a8b44f"
)

// vecRSA holds the Transparent RSA Private Key fields of TC-182-11, as the
// vector writes them (with leading zero padding).
var vecRSA = map[string]string{
	"Modulus":         "0000000000000000ab7f161c0042496ccd6c6d4dadb919973435357776003acf54b7af1e440afb80b64a8755f8002cfeba6b184540a2d66086d74648346d75b8d71812b205387c0f6583bc4d7dc7ec114f3b176b7957c422e7d03fc6267fa2a6f89b9bee9e60a1d7c2d833e5a5f4bb0b1434f4e795a41100f8aa214900df8b65089f98135b1c67b701675abdbc7d5721aac9d14a7f081fcec80b64e8a0ecc8295353c795328abf70e1b42e7bb8b7f4e8ac8c810cdb66e3d21126eba8da7d0ca34142cb76f91f013da809e9c1b7ae64c54130fbc21d80e9c2cb06c5c8d7cce8946a9ac99b1c2815c3612a29a82d73a1f99374fe30e54951662a6eda29c6fc411335d5dc7426b0f605",
	"PrivateExponent": "3b12455d53c1816516c518493f6398aafa72b17dfa894db888a7d48c0a47f62579a4e644f86da711fec850cdd9dbbd17f69a443d2ec1dd60d3c618fa74cde5fdafabd6baa26eb0a3adb4def6480fb1218cd3b083e252e885b6f0729f98b2144d2b72293e1b11d73393bc41f75b15ee3d7569b4995ed1a14425da4319b7b26b0e8fef17c37542ae5c6d5849f87209567f3925a47b016d564859717bc57fcb4522d0aa49ce816e5be7b3088193236ec9efff140858045b73c5d79baf38f7c67f04c5dcf0e3806ad982d1259058c3473e847179a878f2c6b3bd968fb99ea46e9185892f3676e78965c2aed4877ba3917df07c5e927474f19e764ba61dc38d63bf29",
	"PublicExponent":  "0000000000010001",
	"P":               "0000000000000000d5c69c8c3cdc2464744a793713dafb9f1dbc799ff96423fecd3cba794286bce920f4b5c183f99ee9028db6212c6277c4c8297fcfbce7f7c24ca4c51fc7182fb8f4019fb1d5659674c5cbe6d5fa992051341760cd00735729a070a9e54d342beba8ef47ee82d3a01b04cec4a00d4ddb41e35116fc221e854b43a696c0e6419b1b",
	"Q":               "0000000000000000cd5ea7702789064b673540cbff09356ad80bc3d592812eba47610b9fac6aecefe22acae438459cda74e59653d88c04189d34399bf5b14b920e34ef38a7d09fe69593396e8fe735e6f0a6ae4990401041d8a406b6fd86a1161e45f95a3eaa5c1012e6662e44f15f335ac971e1766b2bb9c985109974141b44d37e1e319820a55f",
	"PrimeExponentP":  "0000000000000000b2871237bf9fad38c3316ab7877a6a868063e542a7186d431e8d27c19ac0414584033942e9ff6e2973bb7b2d8b0e94ad1ee82158108fbc8664517a5a467fb963014bd5dcc2b4fb087c23039d11920dbe22fd9f16b4d89e23225cd455adbaf32ef43f185864a36d630309d6853f7714b39aae1ebee3938f87c2707e178c739f9f",
	"PrimeExponentQ":  "00000000000000009690bed14b2afaa26d986d592231ee27d71d49065bd2ba1f78157e20229881fd9d23227d0f8479eaefa922fd75d5b16b1a561fa6680b040ca0bdce650b23b917a4b1bb7983a74fad70e1c305cbec2bff1a85a726a1d90260e4f1084f518234dcd3fe770b9520215bd543bb6a4117718754676a34171666a79f26e79c149c5aa1",
	"CRTCoefficient":  "0000000000000000a0c985a0a0a791a659f99731134c44f37b2e520a2cea35800ad27241ed360dfde6e8ca614f12047fd08b76ac4d13c056a0699e2f98a1cac91011294d71208f4abab33ba87aa0517f415baca88d6bac006088fa601d349417e1f0c9b23affa4d496618dbc024986ed690bbb7b025768ff9df8ac15416f489f8129c32341a8b44f",
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func vecBig(t *testing.T, field string) *big.Int {
	t.Helper()
	return new(big.Int).SetBytes(mustHex(t, vecRSA[field]))
}

func TestDigestOf(t *testing.T) {
	aes := mustHex(t, vecAESKey)
	pkcs1 := mustHex(t, vecPKCS1Key)
	rsaKey := &kmip.TransparentRSAPrivateKey{
		Modulus:         *vecBig(t, "Modulus"),
		PrivateExponent: vecBig(t, "PrivateExponent"),
		PublicExponent:  vecBig(t, "PublicExponent"),
		P:               vecBig(t, "P"),
		Q:               vecBig(t, "Q"),
		PrimeExponentP:  vecBig(t, "PrimeExponentP"),
		PrimeExponentQ:  vecBig(t, "PrimeExponentQ"),
		CRTCoefficient:  vecBig(t, "CRTCoefficient"),
	}
	block := func(f kmip.KeyFormatType, m kmip.KeyMaterial) kmip.KeyBlock {
		return kmip.KeyBlock{KeyFormatType: f, KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: m}}}
	}
	tests := []struct {
		name   string
		obj    kmip.Object
		want   string // hex; empty: no digest
		format kmip.KeyFormatType
	}{
		{name: "raw symmetric (TC-181 key 1)", format: kmip.KeyFormatTypeRaw,
			obj:  &kmip.SymmetricKey{KeyBlock: block(kmip.KeyFormatTypeRaw, kmip.KeyMaterial{Bytes: &aes})},
			want: "6c064fe051add11edc07727b594eb48711df843e08445bba2cd786bc16bc58e8"},
		{name: "transparent symmetric (TC-181 key 2)", format: kmip.KeyFormatTypeTransparentSymmetricKey,
			obj: &kmip.SymmetricKey{KeyBlock: block(kmip.KeyFormatTypeTransparentSymmetricKey,
				kmip.KeyMaterial{TransparentSymmetricKey: &kmip.TransparentSymmetricKey{Key: aes}})},
			want: "499ce96ff6f5e19fe9fe7a2fe4c3e92b88db0001a4e8df28d9966856b6c4b87c"},
		{name: "PKCS#1 RSA private (TC-182 key 1)", format: kmip.KeyFormatTypePKCS_1,
			obj:  &kmip.PrivateKey{KeyBlock: block(kmip.KeyFormatTypePKCS_1, kmip.KeyMaterial{Bytes: &pkcs1})},
			want: "11110a01ed4589d9987c9ad60368e2b762f2b20c00946e1932c1605a18172f55"},
		{name: "transparent RSA private (TC-182 key 2)", format: kmip.KeyFormatTypeTransparentRSAPrivateKey,
			obj: &kmip.PrivateKey{KeyBlock: block(kmip.KeyFormatTypeTransparentRSAPrivateKey,
				kmip.KeyMaterial{TransparentRSAPrivateKey: rsaKey})},
			want: "d73bbc51e83332935f912dbfc35c5efc3b7bf8021835ba86b8da4181f74244ac"},
		{name: "no key value", obj: &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeRaw}}},
		{name: "encrypted key value", obj: &kmip.SymmetricKey{KeyBlock: kmip.KeyBlock{
			KeyFormatType: kmip.KeyFormatTypeRaw, KeyValue: &kmip.KeyValue{Wrapped: &aes}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := digestOf(tc.obj)
			if tc.want == "" {
				if ok {
					t.Fatalf("digestOf = %x, want no digest", d.DigestValue)
				}
				return
			}
			if !ok {
				t.Fatal("digestOf: no digest")
			}
			if got := hex.EncodeToString(d.DigestValue); got != tc.want {
				t.Errorf("digest = %s, want %s", got, tc.want)
			}
			if d.HashingAlgorithm != kmip.HashingAlgorithmSHA_256 || d.KeyFormatType != tc.format {
				t.Errorf("digest algorithm/format = %v/%v, want SHA-256/%v", d.HashingAlgorithm, d.KeyFormatType, tc.format)
			}
		})
	}
}
