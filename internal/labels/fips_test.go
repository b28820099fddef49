package labels

import (
	"bytes"
	"context"
	"crypto/fips140"
	"errors"
	"os"
	"os/exec"
	"strings"
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

func TestFIPSModeRefusesSmallLabels(t *testing.T) {
	if !inFIPSChild(t) {
		return
	}
	s, _, _ := newTestService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "fips-2048", CreateOptions{Bits: 2048}); err != nil {
		t.Fatalf("create RSA-2048: %v", err)
	}
	_, err := s.Create(ctx, "fips-1024", CreateOptions{Bits: 1024})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "FIPS mode") {
		t.Errorf("create RSA-1024 = %v; want a refusal naming FIPS mode", err)
	}
	certPEM, _ := partnerPEM(t, 1024)
	_, err = s.ImportCert(ctx, "fips-partner-1024", certPEM)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "FIPS mode") {
		t.Errorf("import RSA-1024 certificate = %v; want a refusal naming FIPS mode", err)
	}
}
