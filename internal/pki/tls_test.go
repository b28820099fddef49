package pki

import (
	"bufio"
	"crypto/tls"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
)

// handshakeResult is what each side of a test connection saw.
type handshakeResult struct {
	serverErr error
	clientErr error
	server    tls.ConnectionState
	client    tls.ConnectionState
}

// handshake runs a real TLS connection over loopback TCP: the server
// handshakes and answers "ok\n"; the client handshakes and reads the answer,
// which is where a TLS 1.3 client learns that its certificate was refused.
func handshake(t *testing.T, serverConf, clientConf *tls.Config) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type serverSide struct {
		err   error
		state tls.ConnectionState
	}
	done := make(chan serverSide, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- serverSide{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(conn, serverConf)
		if err := tc.Handshake(); err != nil {
			done <- serverSide{err: err}
			return
		}
		_, err = tc.Write([]byte("ok\n"))
		done <- serverSide{err: err, state: tc.ConnectionState()}
	}()

	var res handshakeResult
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(conn, clientConf)
	res.clientErr = tc.Handshake()
	if res.clientErr == nil {
		var line string
		line, res.clientErr = bufio.NewReader(tc).ReadString('\n')
		if res.clientErr == nil && line != "ok\n" {
			t.Fatalf("server answered %q", line)
		}
		res.client = tc.ConnectionState()
	}
	s := <-done
	res.serverErr, res.server = s.err, s.state
	return res
}

func TestTLSHandshake(t *testing.T) {
	dir, mk := initDir(t)
	p := PathsFor(dir)
	serverConf, err := LoadServerTLS(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	if serverConf.ClientAuth != tls.RequireAndVerifyClientCert || serverConf.MinVersion != tls.VersionTLS12 {
		t.Fatalf("server config ClientAuth=%v MinVersion=%x", serverConf.ClientAuth, serverConf.MinVersion)
	}
	admin, err := ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, err := IssueClient(dir, mk, "auditor1", RoleAuditor, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	auditor, err := ClientTLS(p.CACert, certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		client   *tls.Config
		wantRole Role
		wantName string
		tls12    bool
	}{
		{name: "admin TLS 1.3", client: admin, wantRole: RoleAdmin, wantName: AdminName},
		{name: "issued auditor", client: auditor, wantRole: RoleAuditor, wantName: "auditor1"},
		{name: "admin TLS 1.2", client: withMaxVersion(admin, tls.VersionTLS12), wantRole: RoleAdmin, wantName: AdminName, tls12: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := handshake(t, serverConf, withServerName(tt.client, "localhost"))
			if res.serverErr != nil || res.clientErr != nil {
				t.Fatalf("handshake: server %v, client %v", res.serverErr, res.clientErr)
			}
			if len(res.server.PeerCertificates) == 0 {
				t.Fatal("server saw no client certificate")
			}
			id, err := IdentityFromCert(res.server.PeerCertificates[0])
			if err != nil {
				t.Fatal(err)
			}
			if id.Role != tt.wantRole || id.Name != tt.wantName {
				t.Fatalf("identity %+v", id)
			}
			if tt.tls12 {
				if res.server.Version != tls.VersionTLS12 || !slices.Contains(cipherSuites, res.server.CipherSuite) {
					t.Fatalf("version %x suite %s", res.server.Version, tls.CipherSuiteName(res.server.CipherSuite))
				}
			}
		})
	}
}

func TestTLSRefusals(t *testing.T) {
	dir, mk := initDir(t)
	p := PathsFor(dir)
	serverConf, err := LoadServerTLS(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	// A second keywarden install: its certificates come from another CA.
	foreignDir, _ := initDir(t)
	fp := PathsFor(foreignDir)
	foreign, err := ClientTLS(p.CACert, fp.AdminCert, fp.AdminKey) // trusts our server, presents a foreign cert
	if err != nil {
		t.Fatal(err)
	}
	noCert := admin.Clone()
	noCert.Certificates = nil
	cbc := withMaxVersion(admin, tls.VersionTLS12)
	cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
	tls11 := withMaxVersion(admin, tls.VersionTLS11)
	tls11.MinVersion = tls.VersionTLS10
	wrongRoot, err := ClientTLS(fp.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		client *tls.Config
	}{
		{name: "client certificate from a foreign CA", client: foreign},
		{name: "no client certificate", client: noCert},
		{name: "TLS 1.2 without AEAD suites", client: cbc},
		{name: "TLS 1.1", client: tls11},
		{name: "client does not trust the server", client: wrongRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := handshake(t, serverConf, withServerName(tt.client, "localhost"))
			if res.serverErr == nil && res.clientErr == nil {
				t.Fatal("handshake succeeded")
			}
		})
	}
	t.Run("foreign certificate refused by the server", func(t *testing.T) {
		res := handshake(t, serverConf, withServerName(foreign, "localhost"))
		if res.serverErr == nil {
			t.Fatal("server accepted a certificate from a foreign CA")
		}
	})
}

func TestLoadServerTLSWrongMasterKey(t *testing.T) {
	dir, _ := initDir(t)
	otherMK, err := barrier.CreateMasterKey(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadServerTLS(dir, otherMK); err == nil {
		t.Fatal("LoadServerTLS opened the server key under another master key")
	}
}

func withMaxVersion(c *tls.Config, v uint16) *tls.Config {
	c = c.Clone()
	c.MaxVersion = v
	return c
}

func withServerName(c *tls.Config, name string) *tls.Config {
	c = c.Clone()
	c.ServerName = name
	return c
}
