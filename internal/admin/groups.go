package admin

import (
	"net/http"
	"time"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/labels"
)

// groupRequest is the body of POST /v1/groups.
type groupRequest struct {
	Name       string   `json:"name"`
	Family     string   `json:"family"`
	Alias1     string   `json:"alias1"`
	Alias2     string   `json:"alias2"`
	KeyGroup   string   `json:"key_group"`
	Unknown    string   `json:"unknown"`
	AllowedOps []string `json:"allowed_ops"`
}

// groupPatch is the body of PATCH /v1/groups/{name}: only the fields
// present change; an empty string clears an alias or the key group.
type groupPatch struct {
	Family     *string   `json:"family"`
	Alias1     *string   `json:"alias1"`
	Alias2     *string   `json:"alias2"`
	KeyGroup   *string   `json:"key_group"`
	Unknown    *string   `json:"unknown"`
	AllowedOps *[]string `json:"allowed_ops"`
}

func (h *Handler) listGroups(w http.ResponseWriter, _ *call) error {
	groups, err := h.cfg.Devices.Groups()
	if err != nil {
		return err
	}
	if groups == nil {
		groups = []devices.Group{}
	}
	return writeJSON(w, http.StatusOK, groups)
}

func (h *Handler) showGroup(w http.ResponseWriter, c *call) error {
	g, err := h.cfg.Devices.Group(c.r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (h *Handler) createGroup(w http.ResponseWriter, c *call) error {
	var req groupRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	g := devices.Group{
		Name: req.Name, Alias1: req.Alias1, Alias2: req.Alias2, KeyGroup: req.KeyGroup, AllowedOps: req.AllowedOps,
	}
	var err error
	if g.Family, err = devices.ParseFamily(req.Family); err != nil {
		return err
	}
	if req.Unknown != "" {
		if g.Unknown, err = devices.ParsePolicy(req.Unknown); err != nil {
			return err
		}
	}
	created, err := h.cfg.Devices.CreateGroup(c.ctx, g)
	if err != nil {
		return err
	}
	h.log.Info("admin: group created", "group", created.Name, "client", c.principal.Name)
	return writeJSON(w, http.StatusCreated, created)
}

func (h *Handler) modifyGroup(w http.ResponseWriter, c *call) error {
	var p groupPatch
	if err := decodeJSON(c.r, &p, false); err != nil {
		return err
	}
	var family devices.Family
	var policy devices.Policy
	var err error
	if p.Family != nil {
		if family, err = devices.ParseFamily(*p.Family); err != nil {
			return err
		}
	}
	if p.Unknown != nil {
		if policy, err = devices.ParsePolicy(*p.Unknown); err != nil {
			return err
		}
	}
	g, err := h.cfg.Devices.ModifyGroup(c.ctx, c.r.PathValue("name"), func(g *devices.Group) error {
		if p.Family != nil {
			g.Family = family
		}
		setIf(&g.Alias1, p.Alias1)
		setIf(&g.Alias2, p.Alias2)
		setIf(&g.KeyGroup, p.KeyGroup)
		if p.Unknown != nil {
			g.Unknown = policy
		}
		if p.AllowedOps != nil {
			g.AllowedOps = *p.AllowedOps
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.log.Info("admin: group modified", "group", g.Name, "client", c.principal.Name)
	return writeJSON(w, http.StatusOK, g)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, c *call) error {
	name := c.r.PathValue("name")
	if err := h.cfg.Devices.DeleteGroup(c.ctx, name); err != nil {
		return err
	}
	h.log.Info("admin: group deleted", "group", name, "client", c.principal.Name)
	return noContent(w)
}

// setIf sets *dst to *v when v is given.
func setIf(dst, v *string) {
	if v != nil {
		*dst = *v
	}
}

// rolloverRequest is the body of POST /v1/groups/{name}/rollover: the
// group's default labels and/or key group switch to these at At (RFC 3339;
// a time already past takes effect at once). An empty field stays as it is.
type rolloverRequest struct {
	At       time.Time `json:"at"`
	Alias1   string    `json:"alias1"`
	Alias2   string    `json:"alias2"`
	KeyGroup string    `json:"key_group"`
}

// scheduleRollover schedules a certificate rollover (new default labels)
// and/or an LTO rollover (new key group) of a group. The labels and key
// group must exist; when both labels are named, at least one must have its
// private key on this server, so that the volumes written after the
// rollover stay readable here (the other may be a partner's certificate).
func (h *Handler) scheduleRollover(w http.ResponseWriter, c *call) error {
	var req rolloverRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	if req.At.IsZero() {
		return badRequest("at: the time of the rollover is required (RFC 3339, e.g. 2026-12-01T00:00:00Z)")
	}
	if err := h.checkRolloverTargets(c, req); err != nil {
		return err
	}
	g, err := h.cfg.Devices.ScheduleRollover(c.ctx, c.r.PathValue("name"), devices.Rollover{
		At: req.At, Alias1: req.Alias1, Alias2: req.Alias2, KeyGroup: req.KeyGroup,
	})
	if err != nil {
		return err
	}
	h.log.Info("admin: group rollover scheduled", "group", g.Name, "at", req.At.UTC().Format(time.RFC3339),
		"alias1", req.Alias1, "alias2", req.Alias2, "key_group", req.KeyGroup, "client", c.principal.Name)
	return writeJSON(w, http.StatusOK, g)
}

// checkRolloverTargets checks that a rollover's labels and key group exist.
func (h *Handler) checkRolloverTargets(c *call, req rolloverRequest) error {
	var named []*labels.Label
	for _, name := range []string{req.Alias1, req.Alias2} {
		if name == "" {
			continue
		}
		s, err := h.labelService()
		if err != nil {
			return err
		}
		l, err := s.Get(c.ctx, name)
		if err != nil {
			return err
		}
		named = append(named, l)
	}
	if len(named) == 2 && !named[0].HasPrivateKey && !named[1].HasPrivateKey {
		return badRequest("neither %q nor %q has a private key on this server: the volumes written after the rollover could not be read here",
			req.Alias1, req.Alias2)
	}
	if req.KeyGroup != "" {
		if h.cfg.KeyGroups == nil {
			return &requestError{http.StatusServiceUnavailable, "unavailable", "Unavailable", "key groups are not enabled on this server"}
		}
		if _, err := h.cfg.KeyGroups.Get(c.ctx, req.KeyGroup); err != nil {
			return err
		}
	}
	return nil
}

// cancelRollover removes the rollover a group has scheduled at the time
// given by the query parameter at (RFC 3339).
func (h *Handler) cancelRollover(w http.ResponseWriter, c *call) error {
	raw := c.r.URL.Query().Get("at")
	if raw == "" {
		return badRequest("query parameter at: the time of the rollover to cancel is required (RFC 3339)")
	}
	at, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return badRequest("query parameter at: %q is not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)", raw)
	}
	g, err := h.cfg.Devices.CancelRollover(c.ctx, c.r.PathValue("name"), at)
	if err != nil {
		return err
	}
	h.log.Info("admin: group rollover cancelled", "group", g.Name, "at", at.UTC().Format(time.RFC3339),
		"client", c.principal.Name)
	return writeJSON(w, http.StatusOK, g)
}
