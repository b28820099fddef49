package main

import (
	"crypto/fips140"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// fipsReexecEnv marks a process that keywarden re-executed to enter FIPS
// mode, so that a platform without the module fails instead of looping.
const fipsReexecEnv = "KEYWARDEN_FIPS_REEXEC"

// addPINFlag adds --pin-file.
func addPINFlag(cmd *cobra.Command, pinFile *string) {
	cmd.Flags().StringVar(pinFile, "pin-file", "",
		"file holding the HSM user PIN for a PKCS#11 master key (default $KEYWARDEN_PKCS11_PIN)")
}

// enterFIPSMode returns nil when the process runs Go's FIPS 140-3 module;
// otherwise it re-executes the binary with GODEBUG=fips140=on added to its
// environment (the mode is fixed at process start), and returns only if
// that fails.
func enterFIPSMode() error {
	if fips140.Enabled() {
		return nil
	}
	if os.Getenv(fipsReexecEnv) == "1" {
		return errors.New("--fips: re-executed with GODEBUG=fips140=on, but Go's FIPS 140-3 module is still off (is this platform supported?)")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--fips: find this executable to re-execute it: %w (or start it with GODEBUG=fips140=on)", err)
	}
	err = syscall.Exec(exe, os.Args, fipsEnviron(os.Environ()))
	return fmt.Errorf("--fips: re-execute %s with GODEBUG=fips140=on: %w (or start it with that variable set)", exe, err)
}

// fipsEnviron returns env with fips140=on appended to GODEBUG (a later
// setting wins) and the re-execution marker set.
func fipsEnviron(env []string) []string {
	out := make([]string, 0, len(env)+2)
	godebug := ""
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, "GODEBUG="):
			godebug = strings.TrimPrefix(kv, "GODEBUG=")
		case strings.HasPrefix(kv, fipsReexecEnv+"="):
		default:
			out = append(out, kv)
		}
	}
	if godebug != "" {
		godebug += ","
	}
	return append(out, "GODEBUG="+godebug+"fips140=on", fipsReexecEnv+"=1")
}
