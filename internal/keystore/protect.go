package keystore

import (
	"crypto"
	"crypto/cipher"
	"crypto/des"
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// The key protection algorithms of Sun's keystores.
var (
	// oidJKSProtector is Sun's proprietary JKS key protector
	// (sun.security.provider.KeyProtector).
	oidJKSProtector = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 42, 2, 17, 1, 1}
	// oidPBEWithMD5AndTripleDES is the JCEKS key protector
	// (com.sun.crypto.provider.KeyProtector).
	oidPBEWithMD5AndTripleDES = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 42, 2, 19, 1}
)

// encryptedPrivateKeyInfo is PKCS#8's EncryptedPrivateKeyInfo.
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbeParameter is PKCS#5's PBEParameter.
type pbeParameter struct {
	Salt       []byte
	Iterations int
}

// recoverKey decrypts a protected private key (an EncryptedPrivateKeyInfo)
// with password and parses the PKCS#8 key inside.
func recoverKey(protected []byte, typ Type, password string) (crypto.PrivateKey, error) {
	var info encryptedPrivateKeyInfo
	rest, err := asn1.Unmarshal(protected, &info)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: protected key is not an EncryptedPrivateKeyInfo", ErrFormat)
	}
	var plain []byte
	switch alg := info.Algorithm.Algorithm; {
	case alg.Equal(oidJKSProtector):
		plain, err = jksRecover(info.EncryptedData, password)
	case alg.Equal(oidPBEWithMD5AndTripleDES) && typ == TypeJCEKS:
		var p pbeParameter
		if rest, perr := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p); perr != nil || len(rest) != 0 {
			return nil, fmt.Errorf("%w: PBEWithMD5AndTripleDES parameters", ErrFormat)
		}
		plain, err = jceRecover(info.EncryptedData, password, p.Salt, p.Iterations)
	default:
		return nil, fmt.Errorf("%w: key protection algorithm %s in a %s keystore", ErrUnsupported, alg, typ)
	}
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(plain)
	clear(plain)
	if err != nil {
		if info.Algorithm.Algorithm.Equal(oidPBEWithMD5AndTripleDES) {
			// PBEWithMD5AndTripleDES has no integrity check beyond its
			// padding, which a wrong password passes about once in 256
			// tries: garbage that is not PKCS#8 means a wrong password.
			return nil, fmt.Errorf("%w: the decrypted key is not PKCS#8", ErrPassword)
		}
		return nil, fmt.Errorf("%w: the decrypted key is not PKCS#8", ErrFormat)
	}
	return key, nil
}

// jksRecover undoes the JKS key protector: data is salt (20 bytes) ‖ key
// XOR keystream ‖ check (20 bytes). The keystream is D1 ‖ D2 ‖ … with
// D1 = SHA-1(pw ‖ salt) and Di+1 = SHA-1(pw ‖ Di); the check is
// SHA-1(pw ‖ key); pw is the password's UTF-16BE bytes.
func jksRecover(data []byte, password string) ([]byte, error) {
	if len(data) < 2*sha1.Size+1 {
		return nil, fmt.Errorf("%w: protected key of %d bytes", ErrFormat, len(data))
	}
	pw := javaPassword(password)
	salt, enc, check := data[:sha1.Size], data[sha1.Size:len(data)-sha1.Size], data[len(data)-sha1.Size:]
	plain := make([]byte, len(enc))
	digest := salt
	for off := 0; off < len(enc); off += sha1.Size {
		h := sha1.New()
		h.Write(pw)
		h.Write(digest)
		digest = h.Sum(nil)
		for i := 0; i < sha1.Size && off+i < len(enc); i++ {
			plain[off+i] = enc[off+i] ^ digest[i]
		}
	}
	h := sha1.New()
	h.Write(pw)
	h.Write(plain)
	if subtle.ConstantTimeCompare(h.Sum(nil), check) != 1 {
		clear(plain)
		return nil, fmt.Errorf("%w: the key's check digest does not match (wrong key password?)", ErrPassword)
	}
	return plain, nil
}

// jceDeriveKeyIV derives the triple DES key and IV of PBEWithMD5AndTripleDES:
// the 8-byte salt is split in halves; if they are equal the first half is
// permuted as the JDK does ([a b c d] → [d a b d]); each half is hashed
// iterations times as Hi+1 = MD5(Hi ‖ pw), H0 = the half; the two results
// give 24 key bytes and 8 IV bytes. pw is the password's bytes (ASCII).
func jceDeriveKeyIV(password string, salt []byte, iterations int) (key, iv []byte, err error) {
	if len(salt) != 8 {
		return nil, nil, fmt.Errorf("%w: PBEWithMD5AndTripleDES salt of %d bytes: want 8", ErrFormat, len(salt))
	}
	if iterations < 1 || iterations > iterationLimit {
		return nil, nil, fmt.Errorf("%w: PBEWithMD5AndTripleDES iteration count %d", ErrFormat, iterations)
	}
	pw := make([]byte, len(password))
	for i := 0; i < len(password); i++ {
		if password[i] >= 0x80 {
			return nil, nil, fmt.Errorf("%w: a JCEKS key password must be ASCII", ErrPassword)
		}
		pw[i] = password[i]
	}
	halves := [2][]byte{append([]byte(nil), salt[:4]...), append([]byte(nil), salt[4:]...)}
	if subtle.ConstantTimeCompare(halves[0], halves[1]) == 1 {
		h := halves[0]
		h[0], h[1], h[2] = h[3], h[0], h[1]
	}
	derived := make([]byte, 0, 2*md5.Size)
	for _, half := range halves {
		d := half
		for range iterations {
			h := md5.New()
			h.Write(d)
			h.Write(pw)
			d = h.Sum(nil)
		}
		derived = append(derived, d...)
	}
	return derived[:24], derived[24:], nil
}

// jceRecover decrypts a JCEKS protected key: triple DES in CBC mode with
// PKCS#5 padding, under the key and IV jceDeriveKeyIV derives.
func jceRecover(data []byte, password string, salt []byte, iterations int) ([]byte, error) {
	key, iv, err := jceDeriveKeyIV(password, salt, iterations)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 || len(data)%des.BlockSize != 0 {
		return nil, fmt.Errorf("%w: protected key of %d bytes is not whole DES blocks", ErrFormat, len(data))
	}
	block, err := des.NewTripleDESCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keystore: triple DES: %w", err)
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > des.BlockSize {
		clear(plain)
		return nil, fmt.Errorf("%w: bad padding after decryption (wrong key password?)", ErrPassword)
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			clear(plain)
			return nil, fmt.Errorf("%w: bad padding after decryption (wrong key password?)", ErrPassword)
		}
	}
	return plain[:len(plain)-pad], nil
}
