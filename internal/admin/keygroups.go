package admin

import (
	"net/http"

	"github.com/keywarden/keywarden/internal/keygroups"
)

// KeyGroup is an LTO key group as the admin API shows it: its keys by
// alias, without key material.
type KeyGroup struct {
	Name string          `json:"name"`
	Keys []keygroups.Key `json:"keys"`
}

// keyGroupCreateRequest is the body of POST /v1/keygroups.
type keyGroupCreateRequest struct {
	Name string `json:"name"`
	// Aliases is a symmetricKeySet alias set, e.g. "des01-1f".
	Aliases string `json:"aliases"`
}

func keyGroupJSON(g keygroups.KeyGroup) KeyGroup {
	k := g.Keys
	if k == nil {
		k = []keygroups.Key{}
	}
	return KeyGroup{Name: g.Name, Keys: k}
}

// keyGroupService returns the key group service, or a 503 when the server
// runs without one.
func (h *Handler) keyGroupService() (*keygroups.Service, error) {
	if h.cfg.KeyGroups == nil {
		return nil, &requestError{http.StatusServiceUnavailable, "unavailable", "Unavailable", "LTO key groups are not enabled on this server"}
	}
	return h.cfg.KeyGroups, nil
}

func (h *Handler) listKeyGroups(w http.ResponseWriter, c *call) error {
	s, err := h.keyGroupService()
	if err != nil {
		return err
	}
	list, err := s.List(c.ctx)
	if err != nil {
		return err
	}
	out := make([]KeyGroup, 0, len(list))
	for _, g := range list {
		out = append(out, keyGroupJSON(g))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) showKeyGroup(w http.ResponseWriter, c *call) error {
	s, err := h.keyGroupService()
	if err != nil {
		return err
	}
	g, err := s.Get(c.ctx, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, keyGroupJSON(g))
}

func (h *Handler) createKeyGroup(w http.ResponseWriter, c *call) error {
	s, err := h.keyGroupService()
	if err != nil {
		return err
	}
	var req keyGroupCreateRequest
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	g, err := s.Create(c.ctx, req.Name, req.Aliases)
	if err != nil {
		return err
	}
	h.log.Info("admin: key group created", "group", g.Name, "keys", len(g.Keys), "client", c.principal.Name)
	return writeJSON(w, http.StatusCreated, keyGroupJSON(g))
}
