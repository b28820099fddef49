package admin

import (
	"net/http"

	"github.com/keywarden/keywarden/internal/devices"
)

// Pending is the answer of GET /v1/pending: devices waiting for approval
// and client certificates waiting to be accepted.
type Pending struct {
	Devices []devices.Device      `json:"devices"`
	Certs   []devices.PendingCert `json:"certs"`
}

// acceptRequest is the body of POST /v1/pending/certs/{fp}/accept.
type acceptRequest struct {
	Group string `json:"group"`
}

func (h *Handler) listPending(w http.ResponseWriter, _ *call) error {
	all, err := h.cfg.Devices.Devices()
	if err != nil {
		return err
	}
	certs, err := h.cfg.Devices.PendingCerts()
	if err != nil {
		return err
	}
	out := Pending{Devices: []devices.Device{}, Certs: certs}
	if out.Certs == nil {
		out.Certs = []devices.PendingCert{}
	}
	for _, d := range all {
		if d.State == devices.StatePending {
			out.Devices = append(out.Devices, d)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// acceptCert answers POST /v1/pending/certs/{fp}/accept: the certificate
// becomes a device of the group named in the body.
func (h *Handler) acceptCert(w http.ResponseWriter, c *call) error {
	var req acceptRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	if req.Group == "" {
		return badRequest("group is required")
	}
	fp, err := devices.NormalizeFingerprint(c.r.PathValue("fp"))
	if err != nil {
		return err
	}
	d, err := h.cfg.Devices.AcceptCert(c.ctx, fp, req.Group)
	if err != nil {
		return err
	}
	h.log.Info("admin: certificate accepted", "fingerprint", fp, "device", d.ID, "group", d.Group,
		"client", c.principal.Name)
	return writeJSON(w, http.StatusOK, d)
}

func (h *Handler) rejectCert(w http.ResponseWriter, c *call) error {
	fp, err := devices.NormalizeFingerprint(c.r.PathValue("fp"))
	if err != nil {
		return err
	}
	if err := h.cfg.Devices.RejectCert(c.ctx, fp); err != nil {
		return err
	}
	h.log.Info("admin: certificate rejected", "fingerprint", fp, "client", c.principal.Name)
	return noContent(w)
}
