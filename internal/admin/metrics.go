package admin

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Request outcomes, the values of the outcome label of
// keywarden_requests_total. Every front end uses these four.
const (
	// OutcomeOK: the request was served.
	OutcomeOK = "ok"
	// OutcomeDenied: the caller was refused (identity, role, revocation).
	OutcomeDenied = "denied"
	// OutcomeFailed: the request was wrong (bad input, unknown object,
	// wrong state) and was answered with an error.
	OutcomeFailed = "failed"
	// OutcomeError: the server failed.
	OutcomeError = "error"
)

// ProtocolAdmin is the protocol label of admin API requests.
const ProtocolAdmin = "admin"

// durationBuckets spans a cached Get (tens of microseconds) to a request
// that waits on a slow disk (seconds).
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// MetricsOptions configure NewMetrics.
type MetricsOptions struct {
	// StorePath is the store file whose size keywarden_store_size_bytes
	// reports; empty leaves the metric out.
	StorePath string
	// Certs maps a certificate's label (e.g. "ca", "server") to its PEM
	// file, for keywarden_cert_expiry_seconds{cert}.
	Certs map[string]string
	// Now is the clock for certificate expiry; time.Now when nil.
	Now func() time.Time
}

// Metrics holds one server's Prometheus metrics, in a registry of its own
// (never the global default one, so that two servers in one process stay
// apart). A nil *Metrics is valid and records nothing.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	conns    *prometheus.GaugeVec
	auditRef *prometheus.CounterVec
	auditErr *prometheus.CounterVec
	probed   *prometheus.CounterVec
}

// NewMetrics returns the metrics of one server.
func NewMetrics(opts MetricsOptions) (*Metrics, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keywarden_requests_total",
			Help: "Requests answered, by protocol (kmip, device, admin), operation and outcome (ok, denied, failed, error).",
		}, []string{"protocol", "operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keywarden_request_duration_seconds",
			Help:    "Time to answer a request, by protocol and operation.",
			Buckets: durationBuckets,
		}, []string{"protocol", "operation"}),
		conns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "keywarden_connections",
			Help: "Open client connections, by listener.",
		}, []string{"listener"}),
		auditRef: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keywarden_audit_failures_total",
			Help: "Requests refused because the audit trail could not record them, by protocol.",
		}, []string{"protocol"}),
		auditErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keywarden_audit_sink_failures_total",
			Help: "Audit trail failures, by sink: file (a record not written), anchor (the chain head not anchored), syslog (a record not sent).",
		}, []string{"sink"}),
		probed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keywarden_connections_probed_total",
			Help: "Connections closed by the client before it sent a byte (TCP health probes), by listener; they are not audited.",
		}, []string{"listener"}),
	}
	cs := []prometheus.Collector{
		m.requests, m.duration, m.conns, m.auditRef, m.auditErr, m.probed,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&certExpiryCollector{certs: opts.Certs, now: opts.Now},
	}
	if opts.StorePath != "" {
		path := opts.StorePath
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keywarden_store_size_bytes",
			Help: "Size of the store file.",
		}, func() float64 {
			fi, err := os.Stat(path)
			if err != nil {
				return 0
			}
			return float64(fi.Size())
		}))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("admin: register metrics: %w", err)
		}
	}
	return m, nil
}

// ObserveRequest records one answered request: protocol is "kmip",
// "device" or "admin"; op the operation (a KMIP operation name, an admin
// route name); outcome one of OutcomeOK, OutcomeDenied, OutcomeFailed,
// OutcomeError; d how long it took.
func (m *Metrics) ObserveRequest(protocol, op, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(protocol, op, outcome).Inc()
	m.duration.WithLabelValues(protocol, op).Observe(d.Seconds())
}

// AuditFailed counts one request of protocol refused because the audit
// trail could not record it (fail closed).
func (m *Metrics) AuditFailed(protocol string) {
	if m != nil {
		m.auditRef.WithLabelValues(protocol).Inc()
	}
}

// AuditSinkFailed counts one failure of an audit sink ("file", "anchor",
// "syslog"): audit.Config.OnFailure for the server's trail.
func (m *Metrics) AuditSinkFailed(sink string) {
	if m != nil {
		m.auditErr.WithLabelValues(sink).Inc()
	}
}

// ConnOpened counts a new connection on listener; ConnClosed must follow.
func (m *Metrics) ConnOpened(listener string) {
	if m != nil {
		m.conns.WithLabelValues(listener).Inc()
	}
}

// ConnClosed counts the end of a connection ConnOpened counted.
func (m *Metrics) ConnClosed(listener string) {
	if m != nil {
		m.conns.WithLabelValues(listener).Dec()
	}
}

// ConnProbed counts a connection on listener that its client closed
// before sending a byte: a TCP health probe, which is not audited.
func (m *Metrics) ConnProbed(listener string) {
	if m != nil {
		m.probed.WithLabelValues(listener).Inc()
	}
}

// TrackListener returns ln counting its open connections as
// keywarden_connections{listener=name}. Wrap the raw TCP listener, before
// TLS: a connection counts from Accept until Close.
func (m *Metrics) TrackListener(name string, ln net.Listener) net.Listener {
	if m == nil {
		return ln
	}
	m.conns.WithLabelValues(name).Set(0)
	return &trackedListener{Listener: ln, m: m, name: name}
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gatherer returns the registry, for tests and for embedding the metrics
// elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m == nil {
		return prometheus.NewRegistry()
	}
	return m.reg
}

// outcomeFor is the outcome label of an HTTP status.
func outcomeFor(status int) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return OutcomeDenied
	case status >= 500:
		return OutcomeError
	case status >= 400:
		return OutcomeFailed
	default:
		return OutcomeOK
	}
}

type trackedListener struct {
	net.Listener
	m    *Metrics
	name string
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.m.ConnOpened(l.name)
	return &trackedConn{Conn: c, done: func() { l.m.ConnClosed(l.name) }}, nil
}

type trackedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.done)
	return err
}

// certExpiryCollector reports keywarden_cert_expiry_seconds for each
// certificate file, read at every scrape so that a renewed file shows.
type certExpiryCollector struct {
	certs map[string]string
	now   func() time.Time
}

var certExpiryDesc = prometheus.NewDesc("keywarden_cert_expiry_seconds",
	"Seconds until the certificate expires (negative once expired).", []string{"cert"}, nil)

func (c *certExpiryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certExpiryDesc }

func (c *certExpiryCollector) Collect(ch chan<- prometheus.Metric) {
	names := make([]string, 0, len(c.certs))
	for name := range c.certs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		cert, err := readCertFile(c.certs[name])
		if err != nil {
			ch <- prometheus.NewInvalidMetric(certExpiryDesc, err)
			continue
		}
		metric, err := prometheus.NewConstMetric(certExpiryDesc, prometheus.GaugeValue,
			cert.NotAfter.Sub(c.now()).Seconds(), name)
		if err != nil {
			metric = prometheus.NewInvalidMetric(certExpiryDesc, err)
		}
		ch <- metric
	}
}

// readCertFile reads the first certificate of a PEM file.
func readCertFile(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("admin: read certificate: %w", err)
	}
	return parseCertPEM(data)
}

// parseCertPEM parses the first CERTIFICATE block of data.
func parseCertPEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM certificate found")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		return cert, nil
	}
}
