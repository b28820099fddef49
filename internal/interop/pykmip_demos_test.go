package interop

// PyKMIP's own demo programs (Debian's python3-pykmip: kmip.demos.pie.*
// on the high-level ProxyKmipClient, kmip.demos.units.* on the low-level
// KMIPProxy) run unmodified against a live server, as documented in
// pykmip.readthedocs.io/en/latest/client.html ("the demos ... can be run
// with python -m kmip.demos.pie.create -c client ...") and used by the
// Ceph RGW KMIP guide (docs.ceph.com/en/latest/radosgw/kmip/). Each demo
// reads the [client] section of a pykmip.conf (host, port, certfile,
// keyfile, ca_certs), runs one operation and logs its outcome; a demo
// that fails logs an ERROR or a non-success result status but still
// exits 0, so the test reads the log. Objects the demos act on are made
// beforehand with ovh's kmipclient, and their state is checked afterwards.
// No demo is left out. Two run but are refused, as their entries explain
// and the test expects: pie.derive_key (each derivation, from a key it
// never activates) and units.register of a "symmetric key" that is not an
// AES key's size (the same bytes as Secret Data are kept). PyKMIP's Derive
// Key itself succeeds in TestPyKMIP (pykmip_derive_test.go).

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"

	"github.com/keywarden/keywarden/internal/testenv"
)

// pyDemo is one demo run: module under kmip.demos, its arguments, the log
// line that reports success, and an optional check of the server after.
type pyDemo struct {
	name   string
	module string
	args   []string
	want   string
	after  func(t *testing.T, log string)
	expect []string // further log lines that must appear
	// refused, when set, is the refusal each of the demo's refusals
	// errors logs: the demo must log exactly refusals such ERROR lines
	// and no other.
	refused  string
	refusals int
}

func TestPyKMIPDemos(t *testing.T) {
	t.Parallel()
	requirePyKMIP(t)
	env := testenv.Start(t)
	conf := writePyKMIPConf(t, env)
	c := dialAdmin(t, env)
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt

	aes := func(name string, activate bool) string {
		t.Helper()
		ex := c.Create().AES(256, usage)
		if name != "" {
			ex = ex.WithName(name)
		}
		resp, err := ex.Exec()
		if err != nil {
			t.Fatalf("Create AES-256: %v", err)
		}
		if activate {
			if _, err := c.Activate(resp.UniqueIdentifier).Exec(); err != nil {
				t.Fatalf("Activate: %v", err)
			}
		}
		return resp.UniqueIdentifier
	}
	shared := aes("pykmip-demo-key", false)
	toActivate := aes("", false)
	toRevokePie, toRevokeUnits := aes("", true), aes("", true)
	toDestroyPie, toDestroyUnits := aes("", false), aes("", false)
	toRename, toUnname := aes("pykmip-demo-rename", false), aes("pykmip-demo-unname", false)
	toSensitive := aes("", false)
	mac, err := c.Create().SymmetricKey(kmip.CryptographicAlgorithmHMACSHA256, 256, kmip.CryptographicUsageMACGenerate).Exec()
	if err != nil {
		t.Fatalf("Create HMAC-SHA256 key: %v", err)
	}
	macKey := mac.UniqueIdentifier
	if _, err := c.Activate(macKey).Exec(); err != nil {
		t.Fatalf("Activate HMAC key: %v", err)
	}

	wantState := func(id string, st kmip.State) func(t *testing.T, _ string) {
		return func(t *testing.T, _ string) {
			if got := stateOf(t, c, id); got != st {
				t.Errorf("state of %s after the demo = %v, want %v", id, got, st)
			}
		}
	}
	wantNames := func(id string, names ...string) func(t *testing.T, _ string) {
		return func(t *testing.T, _ string) {
			resp, err := c.GetAttributes(id, kmip.AttributeNameName).Exec()
			if err != nil {
				t.Fatalf("Get Attributes Name of %s: %v", id, err)
			}
			var got []string
			for _, v := range attrValues(resp.Attribute, kmip.AttributeNameName) {
				got = append(got, v.(kmip.Name).NameValue)
			}
			if !slices.Equal(got, names) {
				t.Errorf("Names of %s after the demo = %q, want %q", id, got, names)
			}
		}
	}
	exists := func(pattern string, ot kmip.ObjectType) func(t *testing.T, log string) {
		re := regexp.MustCompile(pattern)
		return func(t *testing.T, log string) {
			for _, m := range re.FindAllStringSubmatch(log, -1) {
				checkObjectType(t, c, m[1], ot)
				return
			}
			t.Errorf("no identifier matching %q in the demo's log", pattern)
		}
	}

	demos := []pyDemo{
		{name: "pie create", module: "pie.create", args: []string{"-a", "AES", "-l", "256"},
			want:  "Successfully created symmetric key",
			after: exists(`created symmetric key with ID: (\S+)`, kmip.ObjectTypeSymmetricKey)},
		{name: "pie create_key_pair", module: "pie.create_key_pair", args: []string{"-a", "RSA", "-l", "2048", "-n", "pykmip-demo-pair"},
			want:  "Successfully created private key",
			after: exists(`created private key with ID: (\S+)`, kmip.ObjectTypePrivateKey)},
		{name: "pie get", module: "pie.get", args: []string{"-i", shared}, want: "Successfully retrieved secret with ID: " + shared},
		// Named attributes: without names the server returns Original
		// Creation Date (KMIP 1.2, PyKMIP's default version), which PyKMIP
		// 0.10 cannot decode (see pykmipUndecodable).
		{name: "pie get_attributes", module: "pie.get_attributes",
			args: []string{"-i", shared, "-a", "Name", "-a", "State", "-a", "Cryptographic Algorithm"},
			want: "Successfully retrieved 3 attributes", expect: []string{"Attribute Name:", "Attribute State:"}},
		{name: "pie get_attribute_list", module: "pie.get_attribute_list", args: []string{"-i", shared}, want: "Successfully retrieved",
			expect: []string{"Attribute name: Cryptographic Algorithm"}},
		{name: "pie locate", module: "pie.locate", args: []string{"-n", "pykmip-demo-key"}, want: "Located uuids: ['" + shared + "']",
			expect: []string{shared}},
		{name: "pie register_secret_data", module: "pie.register_secret_data", want: "Successfully registered secret data",
			after: exists(`registered secret data with ID: (\S+)`, kmip.ObjectTypeSecretData)},
		{name: "pie register_symmetric_key", module: "pie.register_symmetric_key", want: "Successfully registered symmetric key",
			after: exists(`registered symmetric key with ID: (\S+)`, kmip.ObjectTypeSymmetricKey)},
		{name: "pie register_certificate", module: "pie.register_certificate", want: "Successfully registered certificate",
			after: exists(`registered certificate with ID: (\S+)`, kmip.ObjectTypeCertificate)},
		{name: "pie register_public_key", module: "pie.register_public_key", want: "Successfully registered public key",
			after: exists(`registered public key with ID: (\S+)`, kmip.ObjectTypePublicKey)},
		{name: "pie register_private_key", module: "pie.register_private_key", want: "Successfully registered private key",
			after: exists(`registered private key with ID: (\S+)`, kmip.ObjectTypePrivateKey)},
		{name: "pie revoke", module: "pie.revoke", args: []string{"-i", toRevokePie}, want: "Successfully revoked",
			after: wantState(toRevokePie, kmip.StateCompromised)},
		{name: "pie destroy", module: "pie.destroy", args: []string{"-i", toDestroyPie}, want: "Successfully destroyed",
			after: wantState(toDestroyPie, kmip.StateDestroyed)},
		{name: "pie register_opaque_object", module: "pie.register_opaque_object", want: "Successfully registered opaque object",
			after: exists(`registered opaque object with ID: (\S+)`, kmip.ObjectTypeOpaqueObject)},
		{name: "pie register_split_key", module: "pie.register_split_key", want: "Successfully registered split key",
			after: exists(`registered split key with ID: (\S+)`, kmip.ObjectTypeSplitKey)},
		{name: "pie modify_attribute", module: "pie.modify_attribute", args: []string{"-i", toRename},
			want: "Successfully modified 'Name' attribute", after: wantNames(toRename, "Modified Name")},
		{name: "pie delete_attribute", module: "pie.delete_attribute", args: []string{"-i", toUnname},
			want: "Successfully deleted 'Name' attribute", after: wantNames(toUnname)},
		{name: "pie mac", module: "pie.mac", args: []string{"-i", macKey, "-a", "HMAC_SHA256"}, want: "Successfully done MAC"},
		{name: "pie encrypt", module: "pie.encrypt", want: "Successfully encrypted the message.", after: decryptsDemoMessage(c)},
		// KMIP 2.0 (the demo's client is set to it): Set Attribute.
		{name: "pie set_attribute", module: "pie.set_attribute", args: []string{"-i", toSensitive},
			want: "Successfully set the 'Sensitive' attribute on object: " + toSensitive, after: wantSensitive(c, toSensitive)},
		{name: "pie sign", module: "pie.sign", want: "Signature: "},
		// The demo derives from the key it has just created, which it
		// never activates: a Pre-Active key serves no cryptographic
		// purpose (KMIP 1.4 section 3.22), so each of its five
		// derivations is refused. (Were it Active, its parameters would
		// still be refused: AES-160, Blowfish, HMAC with a salt, which
		// PyKMIP's own server reads as HKDF, MD5 and SP 800-108.)
		{name: "pie derive_key", module: "pie.derive_key", want: "Successfully created a new derivation key.",
			refused: "OPERATION_FAILED: PERMISSION_DENIED - object is not Active", refusals: 5},
		{name: "units create", module: "units.create", args: []string{"-a", "AES", "-l", "256"},
			want:  "create() result status: ResultStatus.SUCCESS",
			after: exists(`created UUID: (\S+)`, kmip.ObjectTypeSymmetricKey)},
		{name: "units create_key_pair", module: "units.create_key_pair", args: []string{"-a", "RSA", "-l", "2048", "-n", "pykmip-units-pair"},
			want:  "create_key_pair() result status: ResultStatus.SUCCESS",
			after: exists(`created public key UUID: (\S+)`, kmip.ObjectTypePublicKey)},
		// The demo's "symmetric key" is 128 bytes of an RSA PKCS#8 blob,
		// labelled AES-128: an AES key is 16, 24 or 32 bytes, so the
		// server refuses it (Invalid Field) rather than keep a key that
		// would fail at its first use. The same bytes as Secret Data are
		// kept.
		{name: "units register", module: "units.register", args: []string{"-t", "SYMMETRIC_KEY"},
			want:   "register() result status: ResultStatus.OPERATION_FAILED",
			expect: []string{"register() result reason: ResultReason.INVALID_FIELD"}},
		{name: "units register secret", module: "units.register", args: []string{"-t", "SECRET_DATA"},
			want:  "register() result status: ResultStatus.SUCCESS",
			after: exists(`registered UUID: (\S+)`, kmip.ObjectTypeSecretData)},
		{name: "units get", module: "units.get", args: []string{"-i", shared}, want: "get() result status: ResultStatus.SUCCESS",
			expect: []string{"retrieved UUID: " + shared}},
		{name: "units locate", module: "units.locate", args: []string{"-n", "pykmip-demo-key"},
			want: "locate() result status: ResultStatus.SUCCESS", expect: []string{shared}},
		{name: "units activate", module: "units.activate", args: []string{"-i", toActivate},
			want: "activate() result status: ResultStatus.SUCCESS", after: wantState(toActivate, kmip.StateActive)},
		{name: "units revoke", module: "units.revoke", args: []string{"-i", toRevokeUnits},
			want: "revoke() result status: ResultStatus.SUCCESS", after: wantState(toRevokeUnits, kmip.StateCompromised)},
		{name: "units destroy", module: "units.destroy", args: []string{"-i", toDestroyUnits},
			want: "destroy() result status: ResultStatus.SUCCESS", after: wantState(toDestroyUnits, kmip.StateDestroyed)},
		{name: "units query", module: "units.query", want: "query() result status: ResultStatus.SUCCESS",
			expect: []string{"operation supported: Operation.CREATE", "object type supported: ObjectType.SYMMETRIC_KEY"}},
		{name: "units discover_versions", module: "units.discover_versions",
			want: "discover_versions() result status: ResultStatus.SUCCESS", expect: []string{"protocol version supported: 1.2"}},
	}
	for _, d := range demos {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			log := runPyDemo(t, conf, d)
			for _, line := range append([]string{d.want}, d.expect...) {
				if !strings.Contains(log, line) {
					t.Errorf("kmip.demos.%s: log lacks %q\n%s", d.module, line, demoSummary(log))
				}
			}
			errors := strings.Count(log, " - ERROR - ")
			if d.refused != "" && (errors != d.refusals || strings.Count(log, " - ERROR - "+d.refused) != d.refusals) {
				t.Errorf("kmip.demos.%s: want %d errors %q:\n%s", d.module, d.refusals, d.refused, demoSummary(log))
			}
			if d.refused == "" && errors > 0 || strings.Contains(log, "Traceback") {
				t.Errorf("kmip.demos.%s logged an error:\n%s", d.module, demoSummary(log))
			}
			if d.after != nil && !t.Failed() {
				d.after(t, log)
			}
		})
	}
}

// pieRegisterShim runs the demo module named by sys.argv[1] as __main__,
// after giving utils.build_cli_parser's operation argument a default.
const pieRegisterShim = `import runpy, sys
from kmip.core import enums
from kmip.demos import utils
build = utils.build_cli_parser
utils.build_cli_parser = lambda operation=enums.Operation.REGISTER: build(operation)
module = sys.argv.pop(1)
sys.argv[0] = module
runpy.run_module(module, run_name="__main__", alter_sys=True)
`

// writePyKMIPConf writes a pykmip.conf whose [client] section connects to
// env's KMIP listener with the administrator certificate.
func writePyKMIPConf(t *testing.T, env *testenv.Env) string {
	t.Helper()
	host, port, err := net.SplitHostPort(env.KMIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[client]\nhost=%s\nport=%s\ncertfile=%s\nkeyfile=%s\nca_certs=%s\n"+
		"cert_reqs=CERT_REQUIRED\nssl_version=PROTOCOL_SSLv23\ndo_handshake_on_connect=True\nsuppress_ragged_eofs=True\n",
		host, port, pkiFile(env, "admin.pem"), pkiFile(env, "admin-key.pem"), pkiFile(env, "ca.pem"))
	path := filepath.Join(t.TempDir(), "pykmip.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runPyDemo runs one demo and returns its log (the demos log to stderr).
// A demo must exit 0.
func runPyDemo(t *testing.T, conf string, d pyDemo) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"-m", "kmip.demos." + d.module, "-c", "client", "-s", conf}, d.args...)
	if strings.HasPrefix(d.module, "pie.register_") {
		// PyKMIP 0.10's pie register demos call utils.build_cli_parser()
		// without its operation argument and die with a TypeError before
		// connecting: give the argument its Register default, then run the
		// demo itself unmodified.
		args = append([]string{"-c", pieRegisterShim, "kmip.demos." + d.module, "-c", "client", "-s", conf}, d.args...)
	}
	cmd := exec.CommandContext(ctx, python, args...)
	tmp := t.TempDir()
	cmd.Dir = tmp
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + tmp, "TMPDIR=" + tmp, "PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	log := out.String()
	if err != nil {
		t.Fatalf("kmip.demos.%s: %v\n%s", d.module, err, demoSummary(log))
	}
	return log
}

// demoSummary keeps the lines of a demo's log that explain a failure: the
// get demos log key material, which must not reach the test output.
func demoSummary(log string) string {
	var keep []string
	for _, line := range strings.Split(log, "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "secret") && !strings.Contains(l, " - error - ") || strings.Contains(l, "value") ||
			strings.Contains(l, "key material") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// checkObjectType fails the test unless id names an object of type ot on
// the server.
func checkObjectType(t *testing.T, c *kmipclient.Client, id string, ot kmip.ObjectType) {
	t.Helper()
	resp, err := c.GetAttributes(id, kmip.AttributeNameObjectType).Exec()
	if err != nil {
		t.Errorf("Get Attributes of %s, created by the demo: %v", id, err)
		return
	}
	if got := oneAttr(t, resp.Attribute, kmip.AttributeNameObjectType); got != ot {
		t.Errorf("object %s created by the demo is a %v, want %v", id, got, ot)
	}
}

// wantSensitive checks that object id is Sensitive on the server.
func wantSensitive(c *kmipclient.Client, id string) func(t *testing.T, _ string) {
	return func(t *testing.T, _ string) {
		resp, err := c.GetAttributes(id, kmip.AttributeNameSensitive).Exec()
		if err != nil {
			t.Fatalf("Get Attributes Sensitive of %s: %v", id, err)
		}
		if got := oneAttr(t, resp.Attribute, kmip.AttributeNameSensitive); got != true {
			t.Errorf("Sensitive of %s after the demo = %v, want true", id, got)
		}
	}
}

// decryptsDemoMessage decrypts, with ovh's client, the ciphertext the
// pie.encrypt demo logs (AES-CBC, ANSI X9.23 padding, the demo's IV under
// the key it created and logged) and expects the demo's default message.
func decryptsDemoMessage(c *kmipclient.Client) func(t *testing.T, log string) {
	return func(t *testing.T, log string) {
		id := regexp.MustCompile(`Secret ID: (\S+)`).FindStringSubmatch(log)
		ct := regexp.MustCompile(`Cipher text: b'([0-9a-f]+)'`).FindStringSubmatch(log)
		if id == nil || ct == nil {
			t.Fatalf("the demo's log lacks its key id or ciphertext")
		}
		data, err := hex.DecodeString(ct[1])
		if err != nil {
			t.Fatal(err)
		}
		iv, _ := hex.DecodeString("017d45a088081111f00012ff7a3a3690")
		resp, err := c.Decrypt(id[1]).WithIvCounterNonce(iv).WithCryptographicParameters(kmip.CryptographicParameters{
			CryptographicAlgorithm: kmip.CryptographicAlgorithmAES, BlockCipherMode: kmip.BlockCipherModeCBC,
			PaddingMethod: kmip.PaddingMethodANSIX9_23}).Data(data).Exec()
		if err != nil {
			t.Fatalf("Decrypt the demo's ciphertext: %v", err)
		}
		if got, want := string(resp.Data), "This is a secret message."; got != want || len(data) != 32 {
			t.Errorf("the demo's %d-byte ciphertext decrypts to %q, want %q in 32 bytes", len(data), got, want)
		}
	}
}
