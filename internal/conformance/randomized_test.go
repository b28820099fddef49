package conformance

import (
	"testing"
)

// TestRandomizedEncryptOutput: an Encrypt with a registered public key
// (RSA OAEP or PKCS#1 v1.5, both randomized) cannot reproduce the recorded
// bytes, so its output is not compared; an Encrypt with a registered
// symmetric key is deterministic and must match.
func TestRandomizedEncryptOutput(t *testing.T) {
	tests := []struct {
		name, version, file string
		ex                  int
		wantPass            bool
	}{
		{"RSA OAEP with a registered public key", "v1.4", "CS-AC-M-OAEP-1-14.xml", 1, true},
		{"AES-GCM with a registered key", "v1.4", "CS-BC-M-GCM-1-14.xml", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, vectorPath(t, tt.version, tt.file))
			r := runEcho(t, s, tt.ex, setValue("BatchItem/ResponsePayload/Data", []byte("other output")))
			if r.Passed() != tt.wantPass {
				t.Fatalf("passed = %v, want %v:\n%s", r.Passed(), tt.wantPass, r.Report())
			}
		})
	}
}
