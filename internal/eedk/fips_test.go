package eedk

import (
	"bytes"
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"testing"
)

// inFIPSChild re-runs the calling test in a child process started with
// GODEBUG=fips140=on and reports whether the caller is that child (the
// FIPS mode of a process is fixed when it starts).
func inFIPSChild(t *testing.T) bool {
	t.Helper()
	if fips140.Enabled() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=on")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("FIPS-mode run: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("FIPS-mode run did not pass %s:\n%s", t.Name(), out)
	}
	return false
}

func TestFIPSModeRefuses(t *testing.T) {
	if !inFIPSChild(t) {
		return
	}
	k20, _ := testKeys(t)
	dk := dataKey(t)
	// A 1024-bit modulus: only its size is looked at before refusing.
	small := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
	small.N.Add(small.N, big.NewInt(1))
	tests := []struct {
		name string
		pub  *rsa.PublicKey
		hash crypto.Hash
		ok   bool
	}{
		{"RSA-2048, OAEP SHA-256", &k20.PublicKey, crypto.SHA256, true},
		{"OAEP SHA-1", &k20.PublicKey, crypto.SHA1, false},
		{"RSA-1024", small, crypto.SHA256, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Wrap(tc.pub, "fips", ByLabel, tc.hash, dk)
			if !tc.ok {
				if !errors.Is(err, ErrNotFIPS) {
					t.Fatalf("wrap = %v; want ErrNotFIPS", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("wrap: %v", err)
			}
			if got, err := Unwrap(k20, e); err != nil || !bytes.Equal(got, dk) {
				t.Fatalf("unwrap: %v", err)
			}
			e.Hash = crypto.SHA1
			if _, err := Unwrap(k20, e); !errors.Is(err, ErrNotFIPS) {
				t.Errorf("unwrap with OAEP SHA-1 = %v; want ErrNotFIPS", err)
			}
		})
	}
}
