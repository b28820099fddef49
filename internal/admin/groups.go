package admin

import (
	"net/http"

	"github.com/keywarden/keywarden/internal/devices"
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
