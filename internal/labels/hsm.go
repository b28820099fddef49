package labels

import (
	"context"
	"crypto"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/keywarden/keywarden/internal/eedk"
)

// Custom attributes of an HSM-resident label's certificate: where its
// private key lives.
const (
	attrHSMToken = "x-keywarden-hsm-token"
	attrHSMKeyID = "x-keywarden-hsm-key-id"
)

// hsmKeyLabelPrefix starts the CKA_LABEL of a label's key pair in the
// token.
const hsmKeyLabelPrefix = "keywarden-label-"

// Errors of HSM-resident labels.
var (
	// ErrNoHSM: the label's private key is in an HSM this server has no
	// session with, or --hsm was asked of a server without an HSM.
	ErrNoHSM = errors.New("labels: no HSM configured")
	// ErrInHSM: the label's private key lives in an HSM and never leaves
	// it (it cannot be exported).
	ErrInHSM = errors.New("labels: the private key is in the HSM and cannot leave it")
	// ErrHardwareRequired: the server requires hardware-protected keys
	// (requireHardwareProtectionForSymmetricKeys): a label's private key
	// must be generated in the HSM, not imported or generated in memory.
	ErrHardwareRequired = errors.New("labels: hardware protection required: key pairs are generated in the HSM only")
)

// HSMKey is a private key in a token: it decrypts (RSA-OAEP) and signs in
// the token.
type HSMKey interface {
	crypto.Signer
	crypto.Decrypter
}

// HSM is a PKCS#11 token that holds labels' key pairs (see
// HSMFromMasterKey). Implementations are safe for concurrent use.
type HSM interface {
	// Token is the token's label.
	Token() string
	// GenerateRSA generates a non-extractable RSA key pair in the token,
	// with CKA_ID id and CKA_LABEL label.
	GenerateRSA(id []byte, label string, bits int) (HSMKey, error)
	// FindRSA returns the key pair with CKA_ID id.
	FindRSA(id []byte) (HSMKey, error)
	// CheckSensitive returns an error unless the private key is
	// sensitive and has never been extractable.
	CheckSensitive(k HSMKey) error
	// Random fills p from the token's random generator (C_GenerateRandom).
	Random(p []byte) error
}

// hsmState is the Service's HSM, if any.
type hsmState struct {
	mu       sync.RWMutex
	hsm      HSM
	required bool
	keys     sync.Map // hex key id → HSMKey
}

// SetHSM gives the service a token for HSM-resident labels. With
// requireHardware (the seed's requireHardwareProtectionForSymmetricKeys)
// every new label is generated in the token, key pairs cannot be imported,
// and NewDataKey draws data keys from the token's generator.
func (s *Service) SetHSM(h HSM, requireHardware bool) {
	s.hsm.mu.Lock()
	defer s.hsm.mu.Unlock()
	s.hsm.hsm, s.hsm.required = h, requireHardware
}

// currentHSM returns the HSM and whether hardware protection is required.
func (s *Service) currentHSM() (HSM, bool) {
	s.hsm.mu.RLock()
	defer s.hsm.mu.RUnlock()
	return s.hsm.hsm, s.hsm.required
}

// NewDataKey returns a fresh AES-256 data key for a 3592 write: from the
// HSM's random generator when hardware protection is required, else from
// crypto/rand. The caller clears it.
func (s *Service) NewDataKey() ([]byte, error) {
	dk := make([]byte, eedk.DataKeySize)
	if h, required := s.currentHSM(); h != nil && required {
		if err := h.Random(dk); err != nil {
			return nil, fmt.Errorf("labels: data key from the HSM %q: %w", h.Token(), err)
		}
		return dk, nil
	}
	if _, err := rand.Read(dk); err != nil {
		return nil, fmt.Errorf("labels: data key: %w", err)
	}
	return dk, nil
}

// createInHSM generates the label's key pair in the token and stores the
// certificate with a reference to the key (token label and key id).
func (s *Service) createInHSM(ctx context.Context, name string, opts CreateOptions, bits int) (*Label, error) {
	h, _ := s.currentHSM()
	if h == nil {
		return nil, fmt.Errorf("%w: label %q cannot be created in an HSM: start the server with its master key in a PKCS#11 token (--seal pkcs11)", ErrNoHSM, name)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	key, err := h.GenerateRSA(id, hsmKeyLabelPrefix+name, bits)
	if err != nil {
		return nil, fmt.Errorf("labels: create %q in HSM %q: generate key pair: %w", name, h.Token(), err)
	}
	if err := h.CheckSensitive(key); err != nil {
		return nil, fmt.Errorf("labels: create %q in HSM %q: %w", name, h.Token(), err)
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("labels: create %q in HSM %q: the token returned no RSA public key", name, h.Token())
	}
	hashName, err := hsmOAEPHash(key, pub, opts.OAEPHash)
	if err != nil {
		return nil, fmt.Errorf("labels: create %q in HSM %q: %w", name, h.Token(), err)
	}
	var cert *x509.Certificate
	if opts.SelfSigned {
		cert, err = selfSign(key, name)
	} else {
		cert, err = s.signer.SignLabel(pub, name)
	}
	if err != nil {
		return nil, fmt.Errorf("labels: create %q: certificate: %w", name, err)
	}
	keyID := hex.EncodeToString(id)
	s.hsm.keys.Store(keyID, key)
	lb, err := s.store(ctx, name, hashName, cert, nil,
		customAttr(attrHSMToken, h.Token()), customAttr(attrHSMKeyID, keyID))
	if err != nil {
		return nil, err
	}
	lb.HSM, lb.HSMToken, lb.HSMKeyID, lb.HasPrivateKey = true, h.Token(), keyID, true
	s.log.Info("key label's private key generated in the HSM", "label", name, "token", h.Token(), "key_id", keyID)
	return lb, nil
}

// hsmOAEPHash chooses the label's OAEP hash by a round trip through the
// token: the one asked for, else SHA-256 when the token offers it, else
// SHA-1 (SoftHSM2 offers RSA-OAEP with SHA-1 only). SHA-1 is refused in
// FIPS mode.
func hsmOAEPHash(key HSMKey, pub *rsa.PublicKey, asked string) (string, error) {
	candidates := []string{HashSHA256, HashSHA1}
	if asked != "" {
		candidates = []string{asked}
	}
	var errs []error
	for _, c := range candidates {
		name, h, err := parseHash(c)
		if err != nil {
			return "", err
		}
		if h == crypto.SHA1 && fips140.Enabled() {
			errs = append(errs, fmt.Errorf("RSA-OAEP with SHA-1 is not allowed in FIPS mode"))
			continue
		}
		probe := make([]byte, eedk.DataKeySize)
		_, _ = rand.Read(probe)
		ct, err := rsa.EncryptOAEP(h.New(), rand.Reader, pub, probe, nil)
		if err != nil {
			return "", fmt.Errorf("OAEP probe: %w", err)
		}
		got, err := key.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: h})
		if err == nil && string(got) == string(probe) {
			return name, nil
		}
		errs = append(errs, fmt.Errorf("the token does not unwrap RSA-OAEP with %s: %v", name, err))
	}
	return "", fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
}

// hsmDecrypter returns the token's private key of an HSM-resident label.
func (s *Service) hsmDecrypter(lb *Label) (crypto.Decrypter, error) {
	if k, ok := s.hsm.keys.Load(lb.HSMKeyID); ok {
		return k.(HSMKey), nil
	}
	h, _ := s.currentHSM()
	if h == nil || h.Token() != lb.HSMToken {
		return nil, fmt.Errorf("%w: the private key of label %q is in HSM token %q, which this server has no session with", ErrNoHSM, lb.Name, lb.HSMToken)
	}
	id, err := hex.DecodeString(lb.HSMKeyID)
	if err != nil {
		return nil, fmt.Errorf("labels: %q: HSM key id %q: %w", lb.Name, lb.HSMKeyID, ErrInvalid)
	}
	k, err := h.FindRSA(id)
	if err != nil {
		return nil, fmt.Errorf("labels: %q: find the key pair in HSM %q: %w", lb.Name, h.Token(), err)
	}
	s.hsm.keys.Store(lb.HSMKeyID, k)
	return k, nil
}
