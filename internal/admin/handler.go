package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/usage"
)

// Config configures the admin API.
type Config struct {
	// Devices is the device registry: identities, groups, devices,
	// pending lists and revocations. Required.
	Devices *devices.Registry
	// Keys is the lifecycle core, for key metadata and destruction.
	// Required.
	Keys *keys.Manager
	// Metrics records every request and is served on /metrics; nil
	// records nothing and /metrics answers 404.
	Metrics *Metrics
	// Logger receives denials and internal errors; nil discards.
	Logger *slog.Logger
	// DataDir is the server's data directory: status reads the CA and
	// server certificates in DIR/pki, and certificates are issued from
	// its CA.
	DataDir string
	// MasterKey opens the CA key to issue certificates; nil refuses
	// POST /v1/certs/issue.
	MasterKey barrier.MasterKey
	// Version is reported by /v1/status.
	Version string
	// Started is when the server started, for the uptime.
	Started time.Time
	// Listeners returns the bound listener addresses by name ("kmip",
	// "device", "admin"); nil reports none.
	Listeners func() map[string]string
	// Ready reports whether the server can serve (store open, listeners
	// bound); nil means always ready.
	Ready func() error
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Usage is the key-usage log behind /v1/usage; nil answers 404.
	Usage *usage.Log
	// Labels is the key label service behind /v1/labels; nil answers 503.
	Labels *labels.Service
	// KeyGroups is the LTO key group service behind /v1/keygroups; nil
	// answers 503.
	KeyGroups *keygroups.Service
	// Audit receives one event per request (routed or not, served,
	// refused or denied); nil records none. The API fails closed: a
	// request is answered 503 when audit.Ready(Audit) fails before its
	// work, and its answer is replaced by that 503 when its event cannot
	// be recorded.
	Audit audit.Recorder
	// Node names this server in audit events.
	Node string
	// AuditTrail serves GET /v1/audit and POST /v1/audit/verify (the
	// *audit.Trail); nil answers 404.
	AuditTrail AuditTrail
	// Keyring runs keyring rotations behind /v1/keyring; nil answers 503.
	Keyring KeyringRotator
	// CompactionPending reports whether the store file awaits its
	// compaction (after a keyring rotation); nil reports false.
	CompactionPending func() bool
	// MasterKeyRotate replaces the master key while the server runs
	// (POST /v1/masterkey/rotate); nil answers 503.
	MasterKeyRotate func(ctx context.Context, to barrier.MasterKeyOptions) (barrier.MasterKeyRotation, error)
	// Backup streams an encrypted backup for POST /v1/backup; nil answers
	// 503.
	Backup BackupFunc
	// Cluster is the cluster node behind /v1/cluster; nil (a single
	// server) answers 404.
	Cluster Cluster
}

// Handler serves the admin API.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux // method and path → route
	paths *http.ServeMux // path only, to tell 405 from 404
}

// call is one admitted request, as a handler sees it.
type call struct {
	r         *http.Request
	ctx       context.Context // carries the deadline and the keys.Access
	principal devices.Principal
}

// New returns the admin API handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Devices == nil || cfg.Keys == nil {
		return nil, errors.New("admin: a device registry and a key manager are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Started.IsZero() {
		cfg.Started = cfg.Now()
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), paths: http.NewServeMux()}
	methods := map[string][]string{}
	for i := range routeTable {
		rt := &routeTable[i]
		h.mux.Handle(rt.method+" "+rt.pattern, h.admit(rt))
		methods[rt.pattern] = append(methods[rt.pattern], rt.method)
	}
	for pattern, ms := range methods {
		sort.Strings(ms)
		allow := strings.Join(ms, ", ")
		h.paths.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			h.unrouted(w, r, Problem{
				Type: problemTypePrefix + "method-not-allowed", Title: "Method not allowed",
				Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed here; allowed: " + allow,
			})
		}))
	}
	return h, nil
}

// ServeHTTP dispatches a request through the route table.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	if _, pattern := h.paths.Handler(r); pattern != "" {
		h.paths.ServeHTTP(w, r)
		return
	}
	h.unrouted(w, r, Problem{
		Type: problemTypePrefix + "no-route", Title: "Not found", Status: http.StatusNotFound,
		Detail: "no route " + r.Method + " " + r.URL.Path,
	})
}

// unrouted answers a request no route takes, after checking the caller
// like any other (a revoked certificate learns nothing, not even routes).
func (h *Handler) unrouted(w http.ResponseWriter, r *http.Request, p Problem) {
	start, auditStart := h.cfg.Now(), time.Now()
	ev := h.auditEvent(r, auditOpUnrouted, audit.TypeQuery, auditStart)
	if !h.auditReady(w, r, ev, auditStart) {
		h.cfg.Metrics.ObserveRequest(ProtocolAdmin, "unrouted", OutcomeError, h.cfg.Now().Sub(start))
		return
	}
	rec := &statusRecorder{ResponseWriter: w, hold: h.cfg.Audit != nil, cert: peerCert(r)}
	who, err := h.identify(r, &route{roles: anyClient})
	if err != nil {
		p, _ = problemFor(err)
		w.Header().Del("Allow")
	}
	rec.reason = p.Title
	writeProblem(rec, p)
	h.auditFinish(r.Context(), rec, who, ev, auditStart)
	h.cfg.Metrics.ObserveRequest(ProtocolAdmin, "unrouted", outcomeFor(rec.code()), h.cfg.Now().Sub(start))
}

// admit enforces rt's limits and roles, then runs its handler.
//
// It is the API's single entry point for audit: one event per call,
// operation "METHOD /pattern", and fail closed (see Config.Audit).
func (h *Handler) admit(rt *route) http.Handler {
	op, typ := rt.method+" "+rt.pattern, routeType(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, auditStart := h.cfg.Now(), time.Now()
		ev := h.auditEvent(r, op, typ, auditStart)
		notePath(r, &ev)
		if !h.auditReady(w, r, ev, auditStart) {
			h.cfg.Metrics.ObserveRequest(ProtocolAdmin, rt.name, OutcomeError, h.cfg.Now().Sub(start))
			return
		}
		rec := &statusRecorder{ResponseWriter: w, hold: h.cfg.Audit != nil, cert: peerCert(r)}
		ctx, cancel := context.WithTimeout(r.Context(), rt.timeout)
		defer cancel()
		r = r.WithContext(ctx)

		p, err := h.identify(r, rt)
		switch {
		case err != nil:
		case r.ContentLength > rt.maxBody:
			err = &http.MaxBytesError{Limit: rt.maxBody}
		default:
			r.Body = http.MaxBytesReader(rec, r.Body, rt.maxBody)
			ctx := keys.WithAccess(ctx, keys.Access{Group: p.Group, AllGroups: p.AllGroups, ReadOnly: p.ReadOnly})
			err = rt.handle(h, rec, &call{r: r, ctx: ctx, principal: p})
		}
		if err != nil {
			h.fail(rec, r, rt, p, err)
			noteProblem(&ev, err)
		}
		h.auditFinish(ctx, rec, p, ev, auditStart)
		h.cfg.Metrics.ObserveRequest(ProtocolAdmin, rt.name, outcomeFor(rec.code()), h.cfg.Now().Sub(start))
	})
}

// fail answers err as a problem and logs it: denials as warnings, internal
// causes as errors (the client sees only a fixed message for those).
func (h *Handler) fail(w *statusRecorder, r *http.Request, rt *route, p devices.Principal, err error) {
	prob, internal := problemFor(err)
	attrs := []any{"route", rt.name, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
		"client", p.Name, "role", string(p.Kind), "status", prob.Status}
	switch {
	case internal:
		h.log.Error("admin: request failed", append(attrs, "err", err)...)
	case prob.Status == http.StatusUnauthorized || prob.Status == http.StatusForbidden:
		h.log.Warn("admin: request denied", append(attrs, "reason", prob.Detail)...)
	default:
		h.log.Debug("admin: request refused", append(attrs, "reason", prob.Detail)...)
	}
	if w.wrote {
		return // the handler already answered; nothing more can be said
	}
	w.reason = prob.Title
	writeProblem(w, prob)
}

// identify resolves the client certificate to a principal allowed on rt.
// On refusal the principal still names the certificate, for the log.
func (h *Handler) identify(r *http.Request, rt *route) (devices.Principal, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return devices.Principal{}, unauthorized("a client certificate from the server's CA is required")
	}
	cert := r.TLS.PeerCertificates[0]
	who := devices.Principal{Name: cert.Subject.CommonName, Fingerprint: devices.Fingerprint(cert)}
	if h.cfg.Devices.IsRevoked(who.Fingerprint) {
		return who, unauthorized("certificate %s has been revoked", who.Fingerprint)
	}
	if rt.roles&anyCertificate != 0 {
		return who, nil
	}
	// Only administrative certificates are resolved here: resolving a
	// device certificate could park it in the pending list.
	id, err := pki.IdentityFromCert(cert)
	if err != nil || !adminRole(id.Role) {
		return who, forbidden("the admin API needs an admin, operator or auditor certificate")
	}
	p, err := h.cfg.Devices.Resolve(r.Context(), cert, r.RemoteAddr)
	if err != nil {
		return who, err
	}
	switch p.Kind {
	case devices.KindAdmin, devices.KindOperator, devices.KindAuditor:
	default:
		return p, forbidden("the admin API needs an admin, operator or auditor certificate")
	}
	if !rt.roles.allows(p.Kind) {
		return p, forbidden("role %s may not call %s %s (allowed: %s)", p.Kind, rt.method, rt.pattern,
			strings.Join(rt.roles.names(), ", "))
	}
	return p, nil
}

// adminRole reports whether a certificate role may use the admin API.
func adminRole(r pki.Role) bool {
	return r == pki.RoleAdmin || r == pki.RoleOperator || r == pki.RoleAuditor
}
