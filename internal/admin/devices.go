package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/keywarden/keywarden/internal/devices"
)

// deviceRequest is the body of POST /v1/devices. Certificate, a PEM
// client certificate, binds its fingerprint to the device, as does each
// of Fingerprints.
type deviceRequest struct {
	Family       string   `json:"family"`
	Serial       string   `json:"serial"`
	WWN          string   `json:"wwn"`
	Description  string   `json:"description"`
	Group        string   `json:"group"`
	Alias1       string   `json:"alias1"`
	Alias2       string   `json:"alias2"`
	KeyAlias     string   `json:"key_alias"`
	State        string   `json:"state"`
	Fingerprints []string `json:"fingerprints"`
	Certificate  string   `json:"certificate"`
}

// devicePatch is the body of PATCH /v1/devices/{id}: only the fields
// present change. Fingerprints replaces the bound fingerprints;
// AddCertificate (PEM) binds one more.
type devicePatch struct {
	WWN            *string   `json:"wwn"`
	Description    *string   `json:"description"`
	Group          *string   `json:"group"`
	Alias1         *string   `json:"alias1"`
	Alias2         *string   `json:"alias2"`
	KeyAlias       *string   `json:"key_alias"`
	State          *string   `json:"state"`
	Fingerprints   *[]string `json:"fingerprints"`
	AddCertificate *string   `json:"add_certificate"`
}

// listDevices answers GET /v1/devices?group=&family=&state=&serial=.
func (h *Handler) listDevices(w http.ResponseWriter, c *call) error {
	all, err := h.cfg.Devices.Devices()
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	var family devices.Family
	var state devices.State
	if s := q.Get("family"); s != "" {
		if family, err = devices.ParseFamily(s); err != nil {
			return err
		}
	}
	if s := q.Get("state"); s != "" {
		if state, err = devices.ParseState(s); err != nil {
			return err
		}
	}
	group, serial := q.Get("group"), q.Get("serial")
	out := make([]devices.Device, 0, len(all))
	for _, d := range all {
		if (family != "" && d.Family != family) || (state != "" && d.State != state) ||
			(group != "" && !strings.EqualFold(d.Group, group)) || (serial != "" && !strings.EqualFold(d.Serial, serial)) {
			continue
		}
		out = append(out, d)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) showDevice(w http.ResponseWriter, c *call) error {
	d, err := h.cfg.Devices.Device(c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (h *Handler) addDevice(w http.ResponseWriter, c *call) error {
	var req deviceRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	d := devices.Device{
		Serial: req.Serial, WWN: req.WWN, Description: req.Description, Group: req.Group,
		Alias1: req.Alias1, Alias2: req.Alias2, KeyAlias: req.KeyAlias,
	}
	var err error
	if d.Family, err = devices.ParseFamily(req.Family); err != nil {
		return err
	}
	if req.State != "" {
		if d.State, err = devices.ParseState(req.State); err != nil {
			return err
		}
	}
	if d.Fingerprints, err = fingerprints(req.Fingerprints, req.Certificate); err != nil {
		return err
	}
	added, err := h.cfg.Devices.AddDevice(c.ctx, d)
	if err != nil {
		return err
	}
	h.log.Info("admin: device added", "device", added.ID, "family", string(added.Family), "group", added.Group,
		"client", c.principal.Name)
	return writeJSON(w, http.StatusCreated, added)
}

func (h *Handler) modifyDevice(w http.ResponseWriter, c *call) error {
	var p devicePatch
	if err := decodeJSON(c.r, &p, false); err != nil {
		return err
	}
	var state devices.State
	var err error
	if p.State != nil {
		if state, err = devices.ParseState(*p.State); err != nil {
			return err
		}
	}
	var replace, added []string
	if p.Fingerprints != nil {
		if replace, err = fingerprints(*p.Fingerprints, ""); err != nil {
			return err
		}
	}
	if p.AddCertificate != nil {
		if added, err = fingerprints(nil, *p.AddCertificate); err != nil {
			return err
		}
	}
	d, err := h.cfg.Devices.ModifyDevice(c.ctx, c.r.PathValue("id"), func(d *devices.Device) error {
		setIf(&d.WWN, p.WWN)
		setIf(&d.Description, p.Description)
		setIf(&d.Group, p.Group)
		setIf(&d.Alias1, p.Alias1)
		setIf(&d.Alias2, p.Alias2)
		setIf(&d.KeyAlias, p.KeyAlias)
		if p.State != nil {
			d.State = state
		}
		if p.Fingerprints != nil {
			d.Fingerprints = replace
		}
		for _, fp := range added {
			if !slices.Contains(d.Fingerprints, fp) {
				d.Fingerprints = append(d.Fingerprints, fp)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.log.Info("admin: device modified", "device", d.ID, "client", c.principal.Name)
	return writeJSON(w, http.StatusOK, d)
}

func (h *Handler) deleteDevice(w http.ResponseWriter, c *call) error {
	id := c.r.PathValue("id")
	if err := h.cfg.Devices.DeleteDevice(c.ctx, id); err != nil {
		return err
	}
	h.log.Info("admin: device deleted", "device", id, "client", c.principal.Name)
	return noContent(w)
}

func (h *Handler) approveDevice(w http.ResponseWriter, c *call) error {
	d, err := h.cfg.Devices.Approve(c.ctx, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	h.log.Info("admin: device approved", "device", d.ID, "client", c.principal.Name)
	return writeJSON(w, http.StatusOK, d)
}

func (h *Handler) rejectDevice(w http.ResponseWriter, c *call) error {
	id := c.r.PathValue("id")
	if err := h.cfg.Devices.Reject(c.ctx, id); err != nil {
		return err
	}
	h.log.Info("admin: device rejected", "device", id, "client", c.principal.Name)
	return noContent(w)
}

// fingerprints normalises fps and adds the fingerprint of certPEM, if
// given, without duplicates.
func fingerprints(fps []string, certPEM string) ([]string, error) {
	out := make([]string, 0, len(fps)+1)
	add := func(fp string) {
		if !slices.Contains(out, fp) {
			out = append(out, fp)
		}
	}
	for _, s := range fps {
		fp, err := devices.NormalizeFingerprint(s)
		if err != nil {
			return nil, err
		}
		add(fp)
	}
	if certPEM != "" {
		cert, err := parseCertPEM([]byte(certPEM))
		if err != nil {
			return nil, badRequest("certificate: %v", err)
		}
		add(devices.Fingerprint(cert))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
