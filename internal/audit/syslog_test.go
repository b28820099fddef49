package audit

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rfc5424 matches the header and structured data keywarden sends.
var rfc5424 = regexp.MustCompile(`^<(\d+)>1 (\S+) (\S+) keywarden (\d+) (\S+) \[keywarden@32473 seq="(\d+)" protocol="((?:[^"\\\]]|\\.)*)" operation="((?:[^"\\\]]|\\.)*)" outcome="((?:[^"\\\]]|\\.)*)"\] (\{.*\})$`)

// udpReceiver collects datagrams.
func udpReceiver(t *testing.T) (string, <-chan string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	out := make(chan string, 16)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			out <- string(buf[:n])
		}
	}()
	return pc.LocalAddr().String(), out
}

// streamReceiver accepts connections on ln and reads octet-counted frames.
func streamReceiver(t *testing.T, ln net.Listener) <-chan string {
	t.Helper()
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					size, err := r.ReadString(' ')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSuffix(size, " "))
					if err != nil || n <= 0 || n > 1<<20 {
						out <- "bad frame length " + size
						return
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(r, msg); err != nil {
						return
					}
					out <- string(msg)
				}
			}()
		}
	}()
	return out
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool
// trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syslog"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestSyslog(t *testing.T) {
	tests := []struct {
		name  string
		start func(t *testing.T) (SyslogConfig, <-chan string)
	}{
		{"udp", func(t *testing.T) (SyslogConfig, <-chan string) {
			addr, out := udpReceiver(t)
			return SyslogConfig{Network: "udp", Address: addr}, out
		}},
		{"tcp", func(t *testing.T) (SyslogConfig, <-chan string) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			return SyslogConfig{Network: "tcp", Address: ln.Addr().String()}, streamReceiver(t, ln)
		}},
		{"tls", func(t *testing.T) (SyslogConfig, <-chan string) {
			cert, pool := selfSigned(t)
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
			if err != nil {
				t.Fatal(err)
			}
			return SyslogConfig{Network: "tls", Address: ln.Addr().String(), TLS: &tls.Config{RootCAs: pool}}, streamReceiver(t, ln)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, out := tt.start(t)
			tr := openTrail(t, Config{Syslog: &sc})
			record(t, tr, 1, 2)
			denied := event(3)
			denied.Outcome, denied.Operation, denied.Reason = Denied, `read "key" ]`, "device revoked"
			if err := tr.Record(context.Background(), denied); err != nil {
				t.Fatal(err)
			}
			want := []struct {
				pri, seq, outcome, op string
			}{{"110", "1", "success", "write-key"}, {"110", "2", "success", "write-key"}, {"108", "3", "denied", `read \"key\" \]`}}
			for i, w := range want {
				select {
				case msg := <-out:
					m := rfc5424.FindStringSubmatch(msg)
					if m == nil {
						t.Fatalf("message %d is not the expected RFC 5424 form:\n%s", i, msg)
					}
					if m[1] != w.pri || m[6] != w.seq || m[9] != w.outcome || m[8] != w.op || m[3] != "node-1" || m[5] != "key" {
						t.Fatalf("message %d: %q", i, msg)
					}
					if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
						t.Fatalf("timestamp %q: %v", m[2], err)
					}
					if !strings.Contains(m[10], `"seq":`+w.seq+`,`) || !strings.HasSuffix(m[10], `"}`) {
						t.Fatalf("message %d does not carry the record: %s", i, m[10])
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("message %d never arrived", i)
				}
			}
			if s := tr.Stats(); s.SyslogDropped != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestSyslogDownDoesNotRefuse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens
	tr := openTrail(t, Config{Syslog: &SyslogConfig{Network: "tcp", Address: addr, DialTimeout: time.Second}})
	record(t, tr, 1, 3)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if s := tr.Stats(); s.SyslogDropped != 3 || s.Failures != 0 {
		t.Fatalf("stats %+v: want 3 syslog drops and no refused record", s)
	}
}
