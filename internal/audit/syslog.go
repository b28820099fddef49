package audit

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SyslogConfig sends every record to a syslog server as RFC 5424
// messages. The file stays the trail of record: syslog is best effort,
// through a bounded queue, and a syslog failure never refuses a request
// (it is logged and counted in Stats.SyslogDropped and OnFailure).
type SyslogConfig struct {
	// Network is "udp", "tcp" (RFC 6587 octet-counting framing) or "tls"
	// (RFC 5425, TLS 1.2 or later, octet counting).
	Network string
	// Address is HOST:PORT of the syslog server.
	Address string
	// TLS configures the "tls" network: the server's CA (RootCAs) and
	// an optional client certificate. Required for "tls".
	TLS *tls.Config
	// Facility is the syslog facility; 13 (log audit) when zero.
	Facility int
	// Hostname is the HOSTNAME field; the event's node, else the host name.
	Hostname string
	// AppName is the APP-NAME field; "keywarden" when empty.
	AppName string
	// QueueMax bounds the records waiting to be sent; 4096 when zero.
	// Records beyond it are dropped and counted.
	QueueMax int
	// DialTimeout bounds a connection attempt; 5s when zero.
	DialTimeout time.Duration
}

// syslogPEN is the private enterprise number of the structured data ID:
// 32473 is the one reserved for documentation (RFC 5612).
const syslogPEN = "32473"

func (c SyslogConfig) withDefaults() (SyslogConfig, error) {
	switch c.Network {
	case "udp", "tcp":
	case "tls":
		if c.TLS == nil {
			return c, errors.New("audit: Syslog.TLS is required for the tls network")
		}
		c.TLS = c.TLS.Clone()
		if c.TLS.MinVersion < tls.VersionTLS12 {
			c.TLS.MinVersion = tls.VersionTLS12
		}
	default:
		return c, fmt.Errorf("audit: Syslog.Network %q: want udp, tcp or tls", c.Network)
	}
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		return c, fmt.Errorf("audit: Syslog.Address %q: want HOST:PORT", c.Address)
	}
	if c.Facility == 0 {
		c.Facility = 13
	}
	if c.Facility < 0 || c.Facility > 23 {
		return c, fmt.Errorf("audit: Syslog.Facility %d: want 0 to 23", c.Facility)
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	if c.AppName == "" {
		c.AppName = "keywarden"
	}
	if c.QueueMax == 0 {
		c.QueueMax = 4096
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	return c, nil
}

// syslogSink sends formatted messages from a queue on one connection,
// redialling after a failure.
type syslogSink struct {
	cfg   SyslogConfig
	log   *slog.Logger
	drop  func(error)
	queue chan []byte
	pid   string

	mu     sync.Mutex // guards closed against send
	closed bool
	done   chan struct{}
}

func newSyslogSink(cfg SyslogConfig, logger *slog.Logger, drop func(error)) *syslogSink {
	s := &syslogSink{cfg: cfg, log: logger, drop: drop, queue: make(chan []byte, cfg.QueueMax),
		pid: strconv.Itoa(os.Getpid()), done: make(chan struct{})}
	go s.run()
	return s
}

// send formats the record and queues it, dropping it when the queue is
// full.
func (s *syslogSink) send(seq uint64, e Event, line []byte) {
	msg := s.format(seq, e, line)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.queue <- msg:
	default:
		s.drop(errors.New("audit: syslog queue full, record dropped"))
	}
}

// format builds an RFC 5424 message: the record's JSON line is the MSG.
func (s *syslogSink) format(seq uint64, e Event, line []byte) []byte {
	sev := 6 // informational
	switch e.Outcome {
	case Failure, Undone:
		sev = 5 // notice
	case Denied:
		sev = 4 // warning
	}
	host := s.cfg.Hostname
	if e.Node != "" {
		host = e.Node
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s %s [keywarden@%s seq=\"%d\" protocol=\"%s\" operation=\"%s\" outcome=\"%s\"] ",
		s.cfg.Facility*8+sev, e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		header(host, 255), header(s.cfg.AppName, 48), s.pid, header(string(e.Type), 32),
		syslogPEN, seq, sdEscape(string(e.Protocol)), sdEscape(e.Operation), sdEscape(string(e.Outcome)))
	b.Write(bytes.TrimSuffix(line, []byte("\n")))
	return b.Bytes()
}

// header makes s a valid header field: printable US-ASCII without spaces,
// at most n characters, "-" when empty.
func header(s string, n int) string {
	out := strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, s)
	if len(out) > n {
		out = out[:n]
	}
	if out == "" {
		return "-"
	}
	return out
}

// sdEscape escapes a structured data parameter value.
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

// run sends queued messages until close.
func (s *syslogSink) run() {
	defer close(s.done)
	var (
		conn     net.Conn
		failedAt time.Time
	)
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for msg := range s.queue {
		if conn == nil {
			if time.Since(failedAt) < time.Second {
				s.drop(errors.New("audit: syslog unreachable, record dropped"))
				continue
			}
			c, err := s.dial()
			if err != nil {
				failedAt = time.Now()
				s.log.Warn("audit: syslog connect", "network", s.cfg.Network, "address", s.cfg.Address, "err", err)
				s.drop(err)
				continue
			}
			conn = c
		}
		if err := s.write(conn, msg); err != nil {
			s.log.Warn("audit: syslog send", "network", s.cfg.Network, "address", s.cfg.Address, "err", err)
			s.drop(err)
			_ = conn.Close()
			conn, failedAt = nil, time.Now()
		}
	}
}

func (s *syslogSink) dial() (net.Conn, error) {
	d := &net.Dialer{Timeout: s.cfg.DialTimeout}
	switch s.cfg.Network {
	case "tls":
		c, err := tls.DialWithDialer(d, "tcp", s.cfg.Address, s.cfg.TLS)
		if err != nil {
			return nil, fmt.Errorf("audit: syslog dial: %w", err)
		}
		return c, nil
	default:
		c, err := d.Dial(s.cfg.Network, s.cfg.Address)
		if err != nil {
			return nil, fmt.Errorf("audit: syslog dial: %w", err)
		}
		return c, nil
	}
}

// write sends one message: a datagram over UDP, octet-counted over a
// stream.
func (s *syslogSink) write(conn net.Conn, msg []byte) error {
	_ = conn.SetWriteDeadline(time.Now().Add(s.cfg.DialTimeout))
	if s.cfg.Network == "udp" {
		_, err := conn.Write(msg)
		return err
	}
	frame := make([]byte, 0, len(msg)+8)
	frame = strconv.AppendInt(frame, int64(len(msg)), 10)
	frame = append(frame, ' ')
	frame = append(frame, msg...)
	_, err := conn.Write(frame)
	return err
}

// close sends what is queued, then closes the connection.
func (s *syslogSink) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	<-s.done
}
