package admin

import (
	"crypto/fips140"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/pki"
)

// NearExpiry is how close to its end a certificate is reported as near
// expiry.
const NearExpiry = 30 * 24 * time.Hour

// Status is the answer of GET /v1/status.
type Status struct {
	Version       string            `json:"version"`
	Started       time.Time         `json:"started"`
	UptimeSeconds int64             `json:"uptime_seconds"`
	Listeners     map[string]string `json:"listeners"`
	Counts        Counts            `json:"counts"`
	Certificates  []CertStatus      `json:"certificates"`
	// NearExpiry lists the labels of certificates within NearExpiry of
	// their end (or past it); empty when all is well.
	NearExpiry []string `json:"near_expiry"`
	// FIPS reports whether the process runs Go's FIPS 140-3 module.
	FIPS bool `json:"fips"`
	// MasterKey is the master key provider: file, passphrase or pkcs11.
	MasterKey string `json:"master_key,omitempty"`
}

// Counts are the sizes of the server's tables.
type Counts struct {
	Keys           int `json:"keys"`
	Devices        int `json:"devices"`
	Groups         int `json:"groups"`
	PendingDevices int `json:"pending_devices"`
	PendingCerts   int `json:"pending_certs"`
	RevokedCerts   int `json:"revoked_certs"`
}

// CertStatus describes one of the server's own certificates.
type CertStatus struct {
	Name       string    `json:"name"` // "ca" or "server"
	Subject    string    `json:"subject"`
	NotAfter   time.Time `json:"not_after"`
	DaysLeft   int       `json:"days_left"`
	NearExpiry bool      `json:"near_expiry"`
}

// serverCerts names the certificates status and metrics watch.
func serverCerts(dataDir string) map[string]string {
	p := pki.PathsFor(dataDir)
	return map[string]string{"ca": p.CACert, "server": p.ServerCert}
}

// ServerCertFiles returns the certificate files the server's status and
// metrics watch (label → PEM file), for MetricsOptions.Certs.
func ServerCertFiles(dataDir string) map[string]string { return serverCerts(dataDir) }

func (h *Handler) status(w http.ResponseWriter, c *call) error {
	now := h.cfg.Now()
	st := Status{
		Version:       h.version(),
		Started:       h.cfg.Started.UTC(),
		UptimeSeconds: int64(now.Sub(h.cfg.Started).Seconds()),
		Listeners:     map[string]string{},
		Certificates:  []CertStatus{},
		NearExpiry:    []string{},
		FIPS:          fips140.Enabled(),
	}
	if h.cfg.MasterKey != nil {
		st.MasterKey = h.cfg.MasterKey.Kind()
	}
	if h.cfg.Listeners != nil {
		st.Listeners = h.cfg.Listeners()
	}
	// The server itself counts keys: every group, not only the caller's.
	_, total, err := h.cfg.Keys.Locate(keys.WithAccess(c.ctx, keys.Access{AllGroups: true, ReadOnly: true}),
		keys.LocateQuery{MaxItems: 1, IncludeArchived: true})
	if err != nil {
		return fmt.Errorf("admin: status: count keys: %w", err)
	}
	st.Counts.Keys = total
	reg := h.cfg.Devices
	all, err := reg.Devices()
	if err != nil {
		return err
	}
	for _, d := range all {
		st.Counts.Devices++
		if d.State == devices.StatePending {
			st.Counts.PendingDevices++
		}
	}
	groups, err := reg.Groups()
	if err != nil {
		return err
	}
	certs, err := reg.PendingCerts()
	if err != nil {
		return err
	}
	revoked, err := reg.Revoked()
	if err != nil {
		return err
	}
	st.Counts.Groups, st.Counts.PendingCerts, st.Counts.RevokedCerts = len(groups), len(certs), len(revoked)

	for _, name := range []string{"ca", "server"} {
		cert, err := readCertFile(serverCerts(h.cfg.DataDir)[name])
		if err != nil {
			return fmt.Errorf("admin: status: %s certificate: %w", name, err)
		}
		left := cert.NotAfter.Sub(now)
		cs := CertStatus{
			Name: name, Subject: cert.Subject.String(), NotAfter: cert.NotAfter.UTC(),
			DaysLeft: int(left.Hours() / 24), NearExpiry: left < NearExpiry,
		}
		st.Certificates = append(st.Certificates, cs)
		if cs.NearExpiry {
			st.NearExpiry = append(st.NearExpiry, name)
		}
	}
	return writeJSON(w, http.StatusOK, st)
}

// version is Config.Version, else the module version of the binary.
func (h *Handler) version() string {
	if h.cfg.Version != "" {
		return h.cfg.Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
