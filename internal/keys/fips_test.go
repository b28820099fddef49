package keys

import (
	"bytes"
	"crypto/fips140"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ovh/kmip-go"
)

func TestFIPSModeRefusesSmallRSA(t *testing.T) {
	if !fips140.Enabled() {
		// The mode is fixed when a process starts: re-run in a child.
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "GODEBUG=fips140=on")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
			t.Fatalf("FIPS-mode run: %v\n%s", err, out)
		}
		return
	}
	if _, _, _, err := generatePair(kmip.CryptographicAlgorithmRSA, 2048, 0); err != nil {
		t.Fatalf("RSA-2048: %v", err)
	}
	_, _, _, err := generatePair(kmip.CryptographicAlgorithmRSA, 1024, 0)
	if !errors.Is(err, ErrInvalidField) || !strings.Contains(err.Error(), "FIPS mode") {
		t.Errorf("RSA-1024 = %v; want a refusal naming FIPS mode", err)
	}
}
