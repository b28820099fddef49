package admin

import (
	"net/http"
)

// healthBody is the answer of GET /v1/health and /healthz.
const healthBody = `{"status":"ok"}`

// health answers GET /v1/health: the process answers, nothing more.
func (h *Handler) health(w http.ResponseWriter, _ *call) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(healthBody))
	return nil
}

// healthz is the liveness probe.
func (h *Handler) healthz(w http.ResponseWriter, c *call) error { return h.health(w, c) }

// readyz is the readiness probe: the store is open and the listeners are
// bound.
func (h *Handler) readyz(w http.ResponseWriter, _ *call) error {
	if h.cfg.Ready != nil {
		if err := h.cfg.Ready(); err != nil {
			h.log.Warn("admin: not ready", "err", err)
			return &requestError{http.StatusServiceUnavailable, "not-ready", "Not ready",
				"the server is not ready to serve"}
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// metrics serves the Prometheus metrics.
func (h *Handler) metrics(w http.ResponseWriter, c *call) error {
	if h.cfg.Metrics == nil {
		return notFound("metrics are not enabled")
	}
	h.cfg.Metrics.Handler().ServeHTTP(w, c.r)
	return nil
}
