package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/migrate"
	"github.com/keywarden/keywarden/internal/usage"
	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// migrateBody bounds POST /v1/import: key labels, the drive table, the key
// groups and the metadata events of an EKM or ISKLM instance in JSON.
const migrateBody = 64 << 20

// importBundle answers POST /v1/import (keywarden migrate): it plans the
// bundle against what the server holds and, unless dry_run, applies the
// plan, undoing its writes when a step fails. The answer is the report
// (migrate.Report, never key material): 200 when planned or applied, 409
// with the report when conflicts remain under on_conflict=fail, 500 with
// the report when a step failed (its error says what was undone).
func (h *Handler) importBundle(w http.ResponseWriter, c *call) error {
	if h.cfg.Labels == nil || h.cfg.KeyGroups == nil {
		return errServiceUnavailable("key labels or key groups are not configured on this server")
	}
	var req migrate.Request
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	if req.OnConflict == "" {
		req.OnConflict = migrate.Fail
	}
	if _, err := migrate.ParseOnConflict(string(req.OnConflict)); err != nil {
		return badRequest("on_conflict %q: want fail, skip or rename", req.OnConflict)
	}
	if err := req.Bundle.Validate(); err != nil {
		return badRequest("%v", err)
	}
	t := &importTarget{h: h}
	plan, err := migrate.NewPlan(c.ctx, t, &req.Bundle, req.OnConflict)
	switch {
	case errors.Is(err, migrate.ErrConflict):
		rep := plan.Report()
		rep.Error = err.Error()
		return writeJSON(w, http.StatusConflict, rep)
	case err != nil:
		return err
	}
	rep := plan.Report()
	if req.DryRun {
		return writeJSON(w, http.StatusOK, rep)
	}
	sum, err := plan.Apply(c.ctx, t, migrate.ApplyOptions{Logger: h.log})
	if err != nil {
		var se *migrate.StepError
		if !errors.As(err, &se) {
			return err
		}
		h.log.Error("admin: migration failed", "step", se.Kind, "name", se.Name, "err", se.Err,
			"left", se.Left, "client", c.principal.Name)
		// The client sees the cause only when it is one it may see.
		cause := "internal error; the cause is in the server log"
		if p, internal := problemFor(se.Err); !internal {
			cause = p.Detail
		}
		rep.Error = (&migrate.StepError{Kind: se.Kind, Name: se.Name, Err: errors.New(cause), Left: se.Left}).Error()
		return writeJSON(w, http.StatusInternalServerError, rep)
	}
	rep.Applied, rep.Summary = true, &sum
	h.log.Info("admin: migration applied", "client", c.principal.Name, "labels", sum.Created["label"],
		"devices", sum.Created["device"], "usage", sum.UsageImported)
	return writeJSON(w, http.StatusOK, rep)
}

// errServiceUnavailable is a 503 with a reason.
func errServiceUnavailable(msg string) error {
	return &requestError{status: http.StatusServiceUnavailable, slug: "unavailable", title: "Service unavailable", msg: msg}
}

// importTarget is migrate.Target over the server's own services.
type importTarget struct{ h *Handler }

// Snapshot reads labels, groups, devices, key groups and usage records.
func (t *importTarget) Snapshot(ctx context.Context) (*migrate.State, error) {
	st := &migrate.State{}
	lbs, err := t.h.cfg.Labels.List(ctx)
	if err != nil {
		return nil, err
	}
	now := t.h.cfg.Keys.Now()
	for _, l := range lbs {
		e := migrate.ExistingLabel{Name: l.Name, KeyHash: l.KeyHash, HasPrivateKey: l.HasPrivateKey}
		if o, err := t.h.cfg.Keys.Get(ctx, l.CertificateID); err == nil {
			switch o.EffectiveState(now) {
			case kmip.StateActive, kmip.StatePreActive:
			default:
				e.Destroyed = true
			}
		}
		st.Labels = append(st.Labels, e)
	}
	gs, err := t.h.cfg.Devices.Groups()
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		st.Groups = append(st.Groups, migrate.ExistingGroup{Name: g.Name, Family: string(g.Family), Alias1: g.Alias1, Alias2: g.Alias2})
	}
	ds, err := t.h.cfg.Devices.Devices()
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		st.Devices = append(st.Devices, migrate.ExistingDevice{ID: d.ID, Family: string(d.Family), Serial: d.Serial,
			WWN: d.WWN, Alias1: d.Alias1, Alias2: d.Alias2, Group: d.Group})
	}
	kgs, err := t.h.cfg.KeyGroups.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range kgs {
		destroyed := len(g.Keys) > 0
		for _, k := range g.Keys {
			destroyed = destroyed && k.State == ttlv.EnumStr(kmip.StateDestroyed)
		}
		st.KeyGroups = append(st.KeyGroups, migrate.ExistingKeyGroup{Name: g.Name, Aliases: g.Aliases(), Destroyed: destroyed})
	}
	if t.h.cfg.Usage != nil {
		var buf bytes.Buffer
		if err := t.h.cfg.Usage.Export(ctx, &buf, usage.Query{}); err != nil {
			return nil, err
		}
		if st.Usage, err = seedxml.Decode(&buf); err != nil {
			return nil, fmt.Errorf("admin: import: read usage records: %w", err)
		}
	}
	return st, nil
}

// ImportLabel stores a label through the label service.
func (t *importTarget) ImportLabel(ctx context.Context, l migrate.Label) ([]string, error) {
	lb, err := t.h.cfg.Labels.Import(ctx, l.Name, labels.ImportOptions{CertPEM: []byte(l.CertPEM), KeyPEM: []byte(l.KeyPEM)})
	if err != nil {
		return nil, err
	}
	return []string{lb.PrivateKeyID, lb.PublicKeyID, lb.CertificateID}, nil
}

// CreateGroup creates a device group.
func (t *importTarget) CreateGroup(ctx context.Context, name, family, alias1, alias2 string) error {
	f, err := devices.ParseFamily(family)
	if err != nil {
		return err
	}
	_, err = t.h.cfg.Devices.CreateGroup(ctx, devices.Group{Name: name, Family: f, Alias1: alias1, Alias2: alias2})
	return err
}

// SetGroupLabels sets a device group's default labels.
func (t *importTarget) SetGroupLabels(ctx context.Context, name, alias1, alias2 string) error {
	_, err := t.h.cfg.Devices.ModifyGroup(ctx, name, func(g *devices.Group) error {
		g.Alias1, g.Alias2 = alias1, alias2
		return nil
	})
	return err
}

// DeleteGroup deletes a device group.
func (t *importTarget) DeleteGroup(ctx context.Context, name string) error {
	return t.h.cfg.Devices.DeleteGroup(ctx, name)
}

// AddDevice adds a drive to the device table.
func (t *importTarget) AddDevice(ctx context.Context, d migrate.Drive) (string, error) {
	f, err := devices.ParseFamily(d.Family)
	if err != nil {
		return "", err
	}
	added, err := t.h.cfg.Devices.AddDevice(ctx, devices.Device{Family: f, Serial: d.Serial, WWN: d.WWN,
		Group: d.Group, Alias1: d.Alias1, Alias2: d.Alias2, Description: "migrated from EKM/ISKLM"})
	if err != nil {
		return "", err
	}
	return added.ID, nil
}

// DeleteDevice removes a device.
func (t *importTarget) DeleteDevice(ctx context.Context, id string) error {
	return t.h.cfg.Devices.DeleteDevice(ctx, id)
}

// CreateKeyGroup creates an LTO key group with fresh keys.
func (t *importTarget) CreateKeyGroup(ctx context.Context, name, aliases string) ([]string, error) {
	g, err := t.h.cfg.KeyGroups.Create(ctx, name, aliases)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(g.Keys))
	for _, k := range g.Keys {
		ids = append(ids, k.ObjectID)
	}
	return ids, nil
}

// Retire revokes (cessation of operation) and destroys objects.
func (t *importTarget) Retire(ctx context.Context, ids []string) error {
	var errs []error
	reason := kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeCessationOfOperation,
		RevocationMessage: "keywarden migrate: undone"}
	for _, id := range ids {
		if id == "" {
			continue
		}
		if err := t.h.cfg.Keys.Revoke(ctx, id, reason, t.h.cfg.Keys.Now()); err != nil && !errors.Is(err, keys.ErrWrongState) {
			errs = append(errs, fmt.Errorf("revoke %s: %w", id, err))
			continue
		}
		if err := t.h.cfg.Keys.Destroy(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("destroy %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// ImportUsage stores the events in one command.
func (t *importTarget) ImportUsage(ctx context.Context, events []seedxml.Event) (int, error) {
	if t.h.cfg.Usage == nil {
		return 0, errServiceUnavailable("usage records are not configured on this server")
	}
	var buf bytes.Buffer
	if err := seedxml.Encode(&buf, events); err != nil {
		return 0, err
	}
	n, err := t.h.cfg.Usage.Import(ctx, strings.NewReader(buf.String()))
	if errors.Is(err, usage.ErrInvalid) {
		return 0, badRequest("%v", err)
	}
	return n, err
}
