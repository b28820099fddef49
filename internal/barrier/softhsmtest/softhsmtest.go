// Package softhsmtest gives tests a fresh SoftHSM2 token in a temporary
// directory. Tests skip when SoftHSM2 is not installed, unless
// KEYWARDEN_REQUIRE_SOFTHSM=1 (set by scripts/test under CI), which makes
// its absence a failure.
package softhsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv makes a missing SoftHSM2 fail tests instead of skipping them.
const RequireEnv = "KEYWARDEN_REQUIRE_SOFTHSM"

// ModuleEnv overrides the path of the SoftHSM2 PKCS#11 module.
const ModuleEnv = "KEYWARDEN_SOFTHSM_MODULE"

// DefaultModule is where Debian's softhsm2 package installs the module.
const DefaultModule = "/usr/lib/softhsm/libsofthsm2.so"

// Token is an initialised SoftHSM2 token.
type Token struct {
	// Module is the PKCS#11 library path.
	Module string
	// Label is the token label.
	Label string
	// PIN and SOPIN are the user and security-officer PINs.
	PIN, SOPIN string
	// PINFile holds PIN (0600).
	PINFile string
	// Conf is the SOFTHSM2_CONF file, already set in the test's
	// environment.
	Conf string
	// Dir holds the configuration and the token directory.
	Dir string
}

// Available reports the module path and whether SoftHSM2 (module and
// softhsm2-util) is installed, with the reason when it is not.
func Available() (module string, ok bool, why string) {
	module = os.Getenv(ModuleEnv)
	if module == "" {
		module = DefaultModule
	}
	if _, err := os.Stat(module); err != nil {
		return module, false, "SoftHSM2 module " + module + " not found (apt-get install softhsm2)"
	}
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return module, false, "softhsm2-util not found (apt-get install softhsm2)"
	}
	return module, true, ""
}

// New initialises a token labelled label in a new SoftHSM2 configuration
// under t.TempDir() and points SOFTHSM2_CONF at it for the rest of the
// test (so the test cannot run in parallel). It skips, or fails under
// KEYWARDEN_REQUIRE_SOFTHSM=1, when SoftHSM2 is missing.
func New(t testing.TB, label string) Token {
	t.Helper()
	module, ok, why := Available()
	if !ok {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s, and %s=1", why, RequireEnv)
		}
		t.Skip(why)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	content := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, ok := t.(interface{ Setenv(k, v string) }); ok {
		s.Setenv("SOFTHSM2_CONF", conf)
	} else {
		t.Fatal("softhsmtest: need a *testing.T or *testing.B")
	}
	tok := Token{Module: module, Label: label, PIN: "user-pin-4711", SOPIN: "so-pin-0815", Conf: conf, Dir: dir}
	tok.InitToken(t, label)
	tok.PINFile = filepath.Join(dir, "pin")
	if err := os.WriteFile(tok.PINFile, []byte(tok.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return tok
}

// InitToken initialises another token labelled label in the same
// configuration, with the same PINs.
func (tok Token) InitToken(t testing.TB, label string) {
	t.Helper()
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label,
		"--so-pin", tok.SOPIN, "--pin", tok.PIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+tok.Conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
}
