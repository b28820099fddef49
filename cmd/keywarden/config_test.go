package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/config"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/server"
)

// seedProperties is the seed's sample configuration, its three slides
// joined.
const seedProperties = "../../internal/config/testdata/ISKLMConfig.properties"

var seedLabels = []string{"Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"}

// passwordShown matches a password value of the seed (they are the word
// "password") next to its property.
var passwordShown = regexp.MustCompile(`(?i)password\s*[=:]\s*password`)

func TestConfigCheckSeedSample(t *testing.T) {
	stdout, stderr, code := run(t, "config", "check", "--config", seedProperties)
	if code != 0 {
		t.Fatalf("config check exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		seedLabels[0], seedLabels[1],
		"SSL port 1443: served",
		"TCP port 3801: not served — drives are served over TLS only",
		`device = "localhost:1443"`,
		"zOSCompatibility",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("config check output lacks %q:\n%s", want, stdout)
		}
	}
	if m := passwordShown.FindString(stdout + stderr); m != "" {
		t.Errorf("config check shows a password: %q", m)
	}
}

func TestConfigCheckReportsMistakes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, content, want string
	}{
		{"native unknown key", "k.conf", "version = 1\n[listeners]\nkmpi = \":1\"\n", `k.conf:3: listeners.kmpi: unknown key in [listeners]`},
		{"native bad value", "k.conf", "version = 1\n[devices]\nunknown = \"sometimes\"\n", `k.conf:3: devices.unknown: "sometimes" is not allowed: want one of reject, accept, pending`},
		{"properties bad port", "ISKLMConfig.properties", "debug=none\nTransportListener.ssl.port=ssl\n", `ISKLMConfig.properties:2: TransportListener.ssl.port: "ssl": want a port number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := run(t, "config", "check", "--config", path)
			if code == 0 {
				t.Fatal("config check accepted a bad file")
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
	t.Run("bad environment", func(t *testing.T) {
		_, stderr, code := runEnv(t, []string{"KEYWARDEN_DEVICE_ADDR=1443"}, "config", "check")
		if code == 0 || !strings.Contains(stderr, "KEYWARDEN_DEVICE_ADDR") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

func TestConfigConvertSeedSample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "keywarden.conf")
	stdout, stderr, code := run(t, "config", "convert", "--config", seedProperties, "--out", out)
	if code != 0 {
		t.Fatalf("convert exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote "+out) {
		t.Errorf("stdout %q", stdout)
	}
	if m := passwordShown.FindString(stdout + stderr); m != "" {
		t.Errorf("convert shows a password: %q", m)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"version = 1", `device = "localhost:1443"`, `alias1 = "` + seedLabels[0] + `"`, `alias2 = "` + seedLabels[1] + `"`, `key_set = "des01-1f"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("converted file lacks %q:\n%s", want, data)
		}
	}
	if passwordShown.Match(data) {
		t.Errorf("converted file holds a password:\n%s", data)
	}
	checked, stderr, code := run(t, "config", "check", "--config", out)
	if code != 0 || !strings.Contains(checked, "keywarden native") || !strings.Contains(checked, seedLabels[1]) {
		t.Errorf("converted file does not check: exit %d %s\n%s", code, stderr, checked)
	}
	if _, stderr, code := run(t, "config", "convert", "--config", seedProperties, "--out", out); code == 0 || !strings.Contains(stderr, "--force") {
		t.Errorf("convert overwrote an existing file: exit %d, %s", code, stderr)
	}
}

// startServeEnv runs serve with args and extra environment variables and
// waits for "keywarden ready", collecting the printed addresses.
func startServeEnv(t *testing.T, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(testEnviron(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, stderr: &syncBuffer{}, addrs: map[string]string{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", p.stderr.String())
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "keywarden ready" {
				close(ready)
				continue
			}
			if name, addr, ok := strings.Cut(line, " listening on "); ok {
				p.addrs[name] = addr
			}
		}
		p.exited <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("serve exited before ready: %v\n%s", err, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve not ready after 60s:\n%s", p.stderr.String())
	}
	return p
}

// groupJSON returns the group name of the server as the administrator
// sees it through the CLI.
func groupJSON(t *testing.T, srv *serveProc, dataDir, name string) map[string]any {
	t.Helper()
	stdout, stderr, code := runEnv(t, adminEnv(srv, dataDir), "group", "show", name, "-o", "json")
	if code != 0 {
		t.Fatalf("group show %s: exit %d: %s", name, code, stderr)
	}
	var g map[string]any
	if err := json.Unmarshal([]byte(stdout), &g); err != nil {
		t.Fatalf("group show: %v: %s", err, stdout)
	}
	return g
}

// TestServeSeedSample: serve --config reads the seed's sample as it is.
// The SSL port it names (localhost:1443) is remapped by the environment
// (environment over file), the KMIP address by a flag (flag over
// environment: the environment's address cannot be bound), the audit
// directory by the environment; the labels, the unknown-drive policy and
// the key group reach the store; SIGHUP applies a changed label and names
// the changed setting that needs a restart.
func TestServeSeedSample(t *testing.T) {
	dir := t.TempDir()
	data, auditDir := filepath.Join(dir, "data"), filepath.Join(dir, "audit")
	props := filepath.Join(dir, "ISKLMConfig.properties")
	sample, err := os.ReadFile(seedProperties)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(props, sample, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"KEYWARDEN_DEVICE_ADDR=127.0.0.1:0",
		"KEYWARDEN_KMIP_ADDR=192.0.2.1:5696", // TEST-NET: not an address of this host
		"KEYWARDEN_AUDIT_DIR=" + auditDir,
	}
	srv := startServeEnv(t, env, "serve", "--config", props, "--data-dir", data,
		"--kmip-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")

	if a := srv.addrs["device"]; !strings.HasPrefix(a, "127.0.0.1:") || strings.HasSuffix(a, ":1443") {
		t.Errorf("device listener on %q, want the remapped 127.0.0.1 port", a)
	}
	if a := srv.addrs["kmip"]; !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("kmip listener on %q: the flag did not win over the environment", a)
	}
	// stderr is copied by a goroutine of os/exec: "keywarden ready" on
	// stdout can arrive before the log lines written ahead of it.
	for _, want := range []string{"TCP port 3801 is not served", "not in an HSM", "safkeyring", "configuration applied to the store"} {
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(srv.stderr.String(), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(srv.stderr.String(), want) {
			t.Errorf("serve log lacks %q", want)
		}
	}
	if passwordShown.MatchString(srv.stderr.String()) {
		t.Errorf("serve log shows a password")
	}
	if _, err := os.Stat(filepath.Join(auditDir, "isklm_audit.log")); err != nil {
		t.Errorf("audit file named by Audit.handler.file.name: %v", err)
	}
	g := groupJSON(t, srv, data, "default")
	if g["alias1"] != seedLabels[0] || g["alias2"] != seedLabels[1] || g["unknown"] != "accept" || g["key_group"] != "default" {
		t.Errorf("group default = %v, want the sample's labels, accept, key group default", g)
	}
	stdout, stderr, code := runEnv(t, adminEnv(srv, data), "keygroup", "show", "default", "-o", "json")
	if code != 0 || strings.Count(stdout, `"des`) != 31 {
		t.Errorf("key group default from symmetricKeySet=des01-1f: exit %d %s\n%s", code, stderr, stdout)
	}

	// SIGHUP: a new label applies at once, a new audit size needs a restart.
	changed := strings.Replace(string(sample), "drive.default.alias1="+seedLabels[0], "drive.default.alias1=Tape_New_Lbl_30", 1)
	changed = strings.Replace(changed, "Audit.handler.file.size=10000", "Audit.handler.file.size=20000", 1)
	if err := os.WriteFile(props, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(srv.stderr.String(), "need a restart") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	logs := srv.stderr.String()
	if !strings.Contains(logs, "audit rotation size") {
		t.Errorf("reload log does not name the audit size as needing a restart")
	}
	if g := groupJSON(t, srv, data, "default"); g["alias1"] != "Tape_New_Lbl_30" || g["alias2"] != seedLabels[1] {
		t.Errorf("after SIGHUP group default = %v", g)
	}
	if code := srv.stop(t, syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}

	// A restart applies nothing new: the store already agrees.
	srv = startServeEnv(t, env, "serve", "--config", props, "--data-dir", data,
		"--kmip-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	if strings.Contains(srv.stderr.String(), "configuration applied to the store") {
		t.Errorf("second start changed the store again:\n%s", srv.stderr.String())
	}
	srv.stop(t, syscall.SIGTERM, 30*time.Second)
}

// TestServerConfigLeavesUnnamedPolicy: without a file (or a variable)
// naming it, the unknown-device policy is not written to the store, so a
// policy set with "group modify" survives a restart; the listeners and
// everything else keep today's defaults.
func TestServerConfigLeavesUnnamedPolicy(t *testing.T) {
	f := config.Empty()
	if err := f.ApplyEnv(nil); err != nil {
		t.Fatal(err)
	}
	sc, err := serverConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Defaults != (server.GroupDefaults{}) {
		t.Errorf("no configuration writes group defaults %+v", sc.Defaults)
	}
	if sc.KMIPAddr != server.DefaultKMIPAddr || sc.DeviceAddr != server.DefaultDeviceAddr || sc.AdminAddr != server.DefaultAdminAddr ||
		sc.ShutdownGrace != server.DefaultShutdownGrace || sc.NoAuditTrail || sc.TLSCipherSuites != nil || sc.DataDir != fallbackDataDir {
		t.Errorf("defaults changed: %+v", sc)
	}
	if err := f.ApplyEnv([]string{"KEYWARDEN_UNKNOWN_DEVICES=reject"}); err != nil {
		t.Fatal(err)
	}
	if sc, err = serverConfig(f); err != nil || sc.Defaults.Unknown != devices.PolicyReject {
		t.Errorf("named policy: %+v, %v", sc.Defaults, err)
	}
}
