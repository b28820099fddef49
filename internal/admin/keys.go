package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/keys"
)

// Key listing limits: a page holds at most maxKeyPage keys.
const (
	defaultKeyPage = 1000
	maxKeyPage     = 10000
)

// Key is a managed object's metadata as the admin API shows it. Key
// material never appears here.
type Key struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Group     string    `json:"group"`
	State     string    `json:"state"`
	Archived  bool      `json:"archived,omitempty"`
	Names     []string  `json:"names,omitempty"`
	Algorithm string    `json:"algorithm,omitempty"`
	Length    int32     `json:"length,omitempty"`
	Created   time.Time `json:"created,omitzero"`
	// Attributes are every attribute of the object (GET /v1/keys/{id}
	// only).
	Attributes []KeyAttribute `json:"attributes,omitempty"`
}

// KeyAttribute is one attribute instance of a managed object.
type KeyAttribute struct {
	Name  string          `json:"name"`
	Index int32           `json:"index"`
	Value json.RawMessage `json:"value"`
}

// objectTypes and objectStates are the names the key filters accept.
var (
	objectTypes = []kmip.ObjectType{
		kmip.ObjectTypeCertificate, kmip.ObjectTypeSymmetricKey, kmip.ObjectTypePublicKey,
		kmip.ObjectTypePrivateKey, kmip.ObjectTypeSplitKey,
		//lint:ignore SA1019 templates are KMIP 1.0–1.2 objects the server still keeps
		kmip.ObjectTypeTemplate,
		kmip.ObjectTypeSecretData, kmip.ObjectTypeOpaqueObject, kmip.ObjectTypePGPKey,
	}
	objectStates = []kmip.State{
		kmip.StatePreActive, kmip.StateActive, kmip.StateDeactivated, kmip.StateCompromised,
		kmip.StateDestroyed, kmip.StateDestroyedCompromised,
	}
)

// parseEnum finds s among values by name, ignoring case, spaces, '-' and
// '_' ("symmetric-key", "SymmetricKey" and "Symmetric Key" are one).
func parseEnum[T ~uint32](param, s string, values []T) (T, error) {
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer(" ", "", "-", "", "_", "").Replace(s))
	}
	var names []string
	for _, v := range values {
		name := ttlv.EnumStr(v)
		if norm(name) == norm(s) {
			return v, nil
		}
		names = append(names, name)
	}
	return 0, badRequest("%s %q: want one of %s", param, s, strings.Join(names, ", "))
}

// intParam reads a non-negative integer query parameter.
func intParam(c *call, name string, def, limit int) (int, error) {
	s := c.r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > limit {
		return 0, badRequest("%s %q: want a whole number from 0 to %d", name, s, limit)
	}
	return n, nil
}

// listKeys answers GET /v1/keys?group=&type=&state=&limit=&offset=.
// Without a state filter, destroyed objects are left out (as KMIP Locate
// does); ?state=Destroyed lists them. X-Total-Count gives the number of
// matches before paging.
func (h *Handler) listKeys(w http.ResponseWriter, c *call) error {
	q := c.r.URL.Query()
	var query keys.LocateQuery
	query.IncludeArchived = true
	if s := q.Get("type"); s != "" {
		t, err := parseEnum("type", s, objectTypes)
		if err != nil {
			return err
		}
		query.Attributes = append(query.Attributes, kmip.Attribute{AttributeName: kmip.AttributeNameObjectType, AttributeValue: t})
	}
	if s := q.Get("state"); s != "" {
		st, err := parseEnum("state", s, objectStates)
		if err != nil {
			return err
		}
		query.Attributes = append(query.Attributes, kmip.Attribute{AttributeName: kmip.AttributeNameState, AttributeValue: st})
	}
	var err error
	if query.MaxItems, err = intParam(c, "limit", defaultKeyPage, maxKeyPage); err != nil {
		return err
	}
	if query.MaxItems == 0 {
		query.MaxItems = defaultKeyPage
	}
	if query.Offset, err = intParam(c, "offset", 0, 1<<30); err != nil {
		return err
	}
	ctx := c.ctx
	if group := q.Get("group"); group != "" {
		if !c.principal.AllGroups && group != c.principal.Group {
			return writeJSON(w, http.StatusOK, []Key{})
		}
		// Narrow the caller's view to the one group: Locate then answers
		// from that group's objects only.
		ctx = keys.WithAccess(ctx, keys.Access{Group: group, ReadOnly: true})
	}
	ids, total, err := h.cfg.Keys.Locate(ctx, query)
	if err != nil {
		return fmt.Errorf("admin: list keys: %w", err)
	}
	out := make([]Key, 0, len(ids))
	for _, id := range ids {
		o, err := h.cfg.Keys.Get(ctx, id)
		if err != nil {
			if isNotFound(err) { // destroyed or moved since Locate
				continue
			}
			return fmt.Errorf("admin: list keys: %w", err)
		}
		out = append(out, h.keyInfo(o, false))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	return writeJSON(w, http.StatusOK, out)
}

// showKey answers GET /v1/keys/{id}.
func (h *Handler) showKey(w http.ResponseWriter, c *call) error {
	o, err := h.cfg.Keys.Get(c.ctx, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.keyInfo(o, true))
}

// destroyKey answers POST /v1/keys/{id}/destroy.
func (h *Handler) destroyKey(w http.ResponseWriter, c *call) error {
	id := c.r.PathValue("id")
	if err := h.cfg.Keys.Destroy(c.ctx, id); err != nil {
		return err
	}
	h.log.Info("admin: key destroyed", "id", id, "client", c.principal.Name)
	o, err := h.cfg.Keys.Get(c.ctx, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.keyInfo(o, true))
}

// keyInfo describes o without its key material.
func (h *Handler) keyInfo(o *keys.Object, withAttrs bool) Key {
	k := Key{
		ID:       o.ID,
		Type:     ttlv.EnumStr(o.Type),
		Group:    o.Group,
		State:    ttlv.EnumStr(o.EffectiveState(h.cfg.Keys.Now())),
		Archived: o.Archived,
	}
	for _, v := range o.AttrAll(kmip.AttributeNameName) {
		if n, ok := v.(kmip.Name); ok {
			k.Names = append(k.Names, n.NameValue)
		}
	}
	if v, ok := o.Attr(kmip.AttributeNameCryptographicAlgorithm); ok {
		if a, ok := v.(kmip.CryptographicAlgorithm); ok {
			k.Algorithm = ttlv.EnumStr(a)
		}
	}
	if v, ok := o.Attr(kmip.AttributeNameCryptographicLength); ok {
		if n, ok := v.(int32); ok {
			k.Length = n
		}
	}
	if t, ok := o.Date(kmip.AttributeNameInitialDate); ok {
		k.Created = t.UTC()
	}
	if withAttrs {
		for _, a := range h.cfg.Keys.AllAttributes(o) {
			var index int32
			if a.AttributeIndex != nil {
				index = *a.AttributeIndex
			}
			value, err := json.Marshal(a.AttributeValue)
			if err != nil {
				value, _ = json.Marshal(fmt.Sprint(a.AttributeValue))
			}
			k.Attributes = append(k.Attributes, KeyAttribute{Name: string(a.AttributeName), Index: index, Value: value})
		}
	}
	return k
}

// isNotFound reports whether err says the object is not (or no longer)
// visible.
func isNotFound(err error) bool { return errors.Is(err, keys.ErrNotFound) }
