package interop

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/testenv"
)

// python is the only interpreter the PyKMIP test uses: Debian's, with its
// python3-pykmip package.
const python = "/usr/bin/python3"

// requirePyKMIP skips the test when python cannot import kmip, unless
// KEYWARDEN_REQUIRE_PYKMIP=1 (as in CI), where it fails instead.
func requirePyKMIP(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(python, "-c", "import kmip; print(kmip.__version__)").CombinedOutput()
	if err != nil {
		msg := "PyKMIP unavailable: " + python + " -c 'import kmip': " + err.Error() + ": " + strings.TrimSpace(string(out))
		if os.Getenv("KEYWARDEN_REQUIRE_PYKMIP") == "1" {
			t.Fatal(msg + " (KEYWARDEN_REQUIRE_PYKMIP=1)")
		}
		t.Skip(msg + " (set KEYWARDEN_REQUIRE_PYKMIP=1 to make this a failure)")
	}
	return strings.TrimSpace(string(out))
}

// pyResult is what testdata/pykmip_client.py prints.
type pyResult struct {
	PyKMIPVersion string            `json:"pykmip_version"`
	Python        string            `json:"python"`
	OpenSSL       string            `json:"openssl"`
	KMIPVersion   string            `json:"kmip_version"`
	TLSVersion    string            `json:"tls_version"`
	TLSCipher     string            `json:"tls_cipher"`
	SecretHex     string            `json:"secret_hex"`
	SymmetricHex  string            `json:"symmetric_hex"`
	Steps         map[string]pyStep `json:"steps"`
}

type pyStep struct {
	OK        bool            `json:"ok"`
	Reason    string          `json:"reason"`
	Error     string          `json:"error"`
	Traceback string          `json:"traceback"`
	Result    json.RawMessage `json:"result"`
}

// pyKey is the script's description of an object returned by Get.
type pyKey struct {
	ObjectType    string `json:"object_type"`
	ValueHex      string `json:"value_hex"`
	ValueLen      int    `json:"value_len"`
	Algorithm     string `json:"cryptographic_algorithm"`
	Length        int    `json:"cryptographic_length"`
	KeyFormatType string `json:"key_format_type"`
	DataType      string `json:"data_type"`
}

// TestPyKMIP drives a real server with Debian's PyKMIP client, at PyKMIP's
// default protocol version (1.2) and at 1.4, over PyKMIP's default TLS
// (the highest both sides support) and over TLS 1.2 forced, where the
// server offers only ECDHE-ECDSA AEAD suites.
func TestPyKMIP(t *testing.T) {
	version := requirePyKMIP(t)
	t.Logf("PyKMIP %s", version)
	env := testenv.Start(t)
	tests := []struct {
		name       string
		kmip       string
		sslVersion string // PyKMIP's ssl_version; empty: its default
		wantTLS    string // negotiated TLS version; empty: any
	}{
		{name: "kmip1.2", kmip: "1.2"},
		{name: "kmip1.4", kmip: "1.4"},
		{name: "kmip1.2-tls1.2", kmip: "1.2", sslVersion: "PROTOCOL_TLSv1_2", wantTLS: "TLSv1.2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runPyKMIP(t, env, tc.kmip, tc.sslVersion, "pykmip-"+tc.name)
			if tc.wantTLS != "" && res.TLSVersion != tc.wantTLS {
				t.Errorf("negotiated %s, want %s", res.TLSVersion, tc.wantTLS)
			}
			checkPyKMIP(t, res, "pykmip-"+tc.name)
		})
	}
}

func runPyKMIP(t *testing.T, env *testenv.Env, version, sslVersion, prefix string) pyResult {
	t.Helper()
	host, port, err := net.SplitHostPort(env.KMIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/pykmip_client.py",
		"--host", host, "--port", port,
		"--cert", pkiFile(env, "admin.pem"), "--key", pkiFile(env, "admin-key.pem"), "--ca", pkiFile(env, "ca.pem"),
		"--prefix", prefix, "--kmip-version", version)
	if sslVersion != "" {
		cmd.Args = append(cmd.Args, "--ssl-version", sslVersion)
	}
	tmp := t.TempDir()
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + tmp, "TMPDIR=" + tmp, "PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// stdout may hold key material: only stderr is shown.
		t.Fatalf("pykmip_client.py: %v\nstderr:\n%s", err, stderr.String())
	}
	var res pyResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("pykmip_client.py output is not JSON: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("PyKMIP %s (Python %s, %s) KMIP %s over %s %s", res.PyKMIPVersion, res.Python, res.OpenSSL,
		res.KMIPVersion, res.TLSVersion, res.TLSCipher)
	return res
}

func checkPyKMIP(t *testing.T, res pyResult, prefix string) {
	if open, ok := res.Steps["open"]; !ok || !open.OK {
		t.Fatalf("PyKMIP could not connect: %s\n%s", open.Error, open.Traceback)
	}
	for _, name := range []string{
		"create_aes", "get_aes", "locate_by_name", "get_attributes", "get_attribute_list",
		"register_secret", "get_secret", "activate_secret", "derive_pbkdf2", "get_derived", "destroy_derived",
		"revoke_secret", "register_symmetric", "get_symmetric",
		"create_rsa_pair", "get_public", "get_private",
		"activate_aes", "check_aes", "revoke_aes", "destroy_aes", "state_destroyed_aes",
		"destroy_secret", "destroy_symmetric", "destroy_public", "destroy_private", "close",
	} {
		st, ok := res.Steps[name]
		switch {
		case !ok:
			t.Errorf("PyKMIP step %s did not run (an earlier step failed)", name)
		case !st.OK:
			t.Errorf("PyKMIP step %s failed: reason %q: %s\n%s", name, st.Reason, st.Error, st.Traceback)
		}
	}
	checkPyKMIPAllAttributes(t, res)
	if st, ok := res.Steps["get_destroyed_aes"]; !ok || st.OK {
		t.Errorf("PyKMIP Get of a destroyed key: ran %v, succeeded %v; want a failure", ok, st.OK)
	}

	var aesID string
	if !decodeStep(t, res, "create_aes", &aesID) || aesID == "" {
		return
	}
	var aes pyKey
	if decodeStep(t, res, "get_aes", &aes) {
		if aes.ObjectType != "SYMMETRIC_KEY" || aes.ValueLen != 32 || aes.Algorithm != "AES" || aes.Length != 256 {
			t.Errorf("Get AES: %s, %d bytes, %s %d; want SYMMETRIC_KEY, 32 bytes, AES 256",
				aes.ObjectType, aes.ValueLen, aes.Algorithm, aes.Length)
		}
	}
	var located []string
	if decodeStep(t, res, "locate_by_name", &located) && !slices.Equal(located, []string{aesID}) {
		t.Errorf("Locate by name = %v, want [%s]", located, aesID)
	}
	var attrs map[string][]any
	if decodeStep(t, res, "get_attributes", &attrs) {
		for name, want := range map[string]any{
			"Unique Identifier":        aesID,
			"Object Type":              "SYMMETRIC_KEY",
			"Cryptographic Algorithm":  "AES",
			"Cryptographic Length":     float64(256),
			"Cryptographic Usage Mask": float64(4 | 8), // Encrypt | Decrypt
			"State":                    "PRE_ACTIVE",
		} {
			if got := attrs[name]; len(got) != 1 || got[0] != want {
				t.Errorf("Get Attributes %q = %v, want [%v]", name, got, want)
			}
		}
		if !slices.Contains(attrs["Name"], any(prefix+"-aes")) {
			t.Errorf("Get Attributes Name = %v, want %q among them", attrs["Name"], prefix+"-aes")
		}
	}
	var names []string
	if decodeStep(t, res, "get_attribute_list", &names) {
		for _, n := range []string{"Unique Identifier", "Object Type", "Cryptographic Algorithm", "State", "Name"} {
			if !slices.Contains(names, n) {
				t.Errorf("Get Attribute List lacks %q: %v", n, names)
			}
		}
	}
	var secret pyKey
	if decodeStep(t, res, "get_secret", &secret) {
		if secret.ObjectType != "SECRET_DATA" || secret.DataType != "PASSWORD" || secret.ValueHex != res.SecretHex {
			t.Errorf("Get secret data: %s %s, value equal %v", secret.ObjectType, secret.DataType, secret.ValueHex == res.SecretHex)
		}
	}
	checkPyKMIPDerived(t, res)
	var sym pyKey
	if decodeStep(t, res, "get_symmetric", &sym) {
		if sym.ObjectType != "SYMMETRIC_KEY" || sym.ValueHex != res.SymmetricHex {
			t.Errorf("Get registered symmetric key: %s, value equal %v", sym.ObjectType, sym.ValueHex == res.SymmetricHex)
		}
	}
	checkPyKMIPPair(t, res)
	var checked string
	if decodeStep(t, res, "check_aes", &checked) && checked != aesID {
		t.Errorf("Check returned %q, want %q", checked, aesID)
	}
	var destroyed map[string][]any
	if decodeStep(t, res, "state_destroyed_aes", &destroyed) && !slices.Equal(destroyed["State"], []any{"DESTROYED"}) {
		t.Errorf("State after Destroy = %v, want [DESTROYED]", destroyed["State"])
	}
}

// pykmipUndecodable names the KMIP 1.x attributes PyKMIP 0.10 cannot
// decode, with the minor protocol version that introduced each: a server
// speaking that version may return them, and PyKMIP then fails the whole
// Get Attributes on the client side.
var pykmipUndecodable = map[string]int{
	"Alternative Name": 2, "Key Value Present": 2, "Key Value Location": 2, "Original Creation Date": 2,
	"Random Number Generator": 3,
	"PKCS#12 Friendly Name":   4, "Description": 4, "Comment": 4,
	"Always Sensitive": 4, "Extractable": 4, "Never Extractable": 4,
}

// checkPyKMIPAllAttributes checks Get Attributes without names. PyKMIP 0.10
// fails to decode the response when it holds an attribute from the list
// above; that is accepted (and logged) only for an attribute the
// negotiated version defines. Any other failure is an error.
func checkPyKMIPAllAttributes(t *testing.T, res pyResult) {
	t.Helper()
	st, ok := res.Steps["get_attributes_all"]
	if !ok || st.OK {
		return // not run (reported already) or decoded fine
	}
	minor := 0
	if _, m, found := strings.Cut(res.KMIPVersion, "."); found {
		minor, _ = strconv.Atoi(m)
	}
	for name, since := range pykmipUndecodable {
		enum := strings.ToUpper(strings.NewReplacer(" ", "_", "#", "_", ".", "_").Replace(name))
		if since <= minor && (st.Error == "ValueError: Unrecognized attribute type: AttributeType."+enum ||
			st.Error == "ValueError: '"+name+"' is not a valid AttributeType") {
			t.Logf("known PyKMIP 0.10 limitation: Get Attributes (all) of a server-created key fails on the client: "+
				"the server returns %q (KMIP 1.%d) and PyKMIP cannot decode it", name, since)
			return
		}
	}
	t.Errorf("PyKMIP Get Attributes (all) failed: reason %q: %s\n%s", st.Reason, st.Error, st.Traceback)
}

// checkPyKMIPPair checks the RSA key pair PyKMIP created and fetched: both
// halves parse, the modulus is 2048 bits and they belong together.
func checkPyKMIPPair(t *testing.T, res pyResult) {
	t.Helper()
	var ids []string
	if !decodeStep(t, res, "create_rsa_pair", &ids) {
		return
	}
	if len(ids) != 2 || ids[0] == "" || ids[0] == ids[1] {
		t.Errorf("Create Key Pair returned %v", ids)
	}
	var pubK, privK pyKey
	if !decodeStep(t, res, "get_public", &pubK) || !decodeStep(t, res, "get_private", &privK) {
		return
	}
	if pubK.ObjectType != "PUBLIC_KEY" || privK.ObjectType != "PRIVATE_KEY" {
		t.Fatalf("Get key pair halves: %s and %s", pubK.ObjectType, privK.ObjectType)
	}
	pub, err := parseRSAPublic(pubK)
	if err != nil {
		t.Fatalf("public key (%s): %v", pubK.KeyFormatType, err)
	}
	priv, err := parseRSAPrivate(privK)
	if err != nil {
		t.Fatalf("private key (%s): %v", privK.KeyFormatType, err)
	}
	if pub.N.BitLen() != 2048 || !pub.Equal(&priv.PublicKey) {
		t.Errorf("key pair: public modulus %d bits, matches private key: %v", pub.N.BitLen(), pub.Equal(&priv.PublicKey))
	}
}

func parseRSAPublic(k pyKey) (*rsa.PublicKey, error) {
	der, err := hex.DecodeString(k.ValueHex)
	if err != nil {
		return nil, err
	}
	if pub, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return pub, nil
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA public key: %T", key)
	}
	return pub, nil
}

func parseRSAPrivate(k pyKey) (*rsa.PrivateKey, error) {
	der, err := hex.DecodeString(k.ValueHex)
	if err != nil {
		return nil, err
	}
	if priv, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return priv, nil
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	priv, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA private key: %T", key)
	}
	return priv, nil
}

// decodeStep decodes the result of a successful step into v; it reports
// false (the failure was already reported) when the step did not succeed.
func decodeStep(t *testing.T, res pyResult, name string, v any) bool {
	t.Helper()
	st, ok := res.Steps[name]
	if !ok || !st.OK {
		return false
	}
	if err := json.Unmarshal(st.Result, v); err != nil {
		t.Errorf("PyKMIP step %s: result %T: %v", name, v, err)
		return false
	}
	return true
}
