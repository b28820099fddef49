package admin

import (
	"net/http"

	"github.com/keywarden/keywarden/internal/devices"
)

// kmipUserRequest is the body of POST /v1/kmip-users. Password is hashed
// with Argon2id at once; it is never stored, logged, audited or returned.
type kmipUserRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Group    string `json:"group,omitempty"`
}

func (h *Handler) listKMIPUsers(w http.ResponseWriter, c *call) error {
	users, err := h.cfg.Devices.KMIPUsers()
	if err != nil {
		return err
	}
	if users == nil {
		users = []devices.KMIPUser{}
	}
	return writeJSON(w, http.StatusOK, users)
}

func (h *Handler) addKMIPUser(w http.ResponseWriter, c *call) error {
	var req kmipUserRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	u, err := h.cfg.Devices.AddKMIPUser(c.ctx, req.Name, []byte(req.Password), req.Group)
	if err != nil {
		return err
	}
	h.log.Info("admin: kmip user added", "user", u.Name, "group", u.Group, "client", c.principal.Name)
	return writeJSON(w, http.StatusCreated, u)
}

func (h *Handler) removeKMIPUser(w http.ResponseWriter, c *call) error {
	name := c.r.PathValue("name")
	if err := h.cfg.Devices.RemoveKMIPUser(c.ctx, name); err != nil {
		return err
	}
	h.log.Info("admin: kmip user removed", "user", name, "client", c.principal.Name)
	return noContent(w)
}
