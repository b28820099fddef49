package admin

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keywarden/keywarden/internal/usage"
	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// Usage listing limits.
const (
	defaultUsagePage = 1000
	maxUsagePage     = 100_000
	// importBody bounds a seed XML import (about 130,000 events).
	importBody = 32 << 20
)

// usageLog returns the usage log, or a 404 when the server keeps none.
func (h *Handler) usageLog() (*usage.Log, error) {
	if h.cfg.Usage == nil {
		return nil, notFound("this server keeps no key-usage records")
	}
	return h.cfg.Usage, nil
}

// usageQuery reads ?volser=&alias=&serial=&from=&to=&limit=; from and to
// are RFC 3339 times.
func usageQuery(c *call, defLimit int) (usage.Query, error) {
	v := c.r.URL.Query()
	q := usage.Query{Volser: v.Get("volser"), Alias: v.Get("alias"), DriveSerial: v.Get("serial")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return q, badRequest("%s %q: want an RFC 3339 time such as 2024-03-01T12:00:00Z", p.name, s)
		}
		*p.dst = t
	}
	var err error
	if q.Limit, err = intParam(c, "limit", defLimit, maxUsagePage); err != nil {
		return q, err
	}
	return q, nil
}

// listUsage answers GET /v1/usage: matching records, oldest first.
func (h *Handler) listUsage(w http.ResponseWriter, c *call) error {
	l, err := h.usageLog()
	if err != nil {
		return err
	}
	q, err := usageQuery(c, defaultUsagePage)
	if err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = defaultUsagePage
	}
	recs, err := l.Query(c.ctx, q)
	if err != nil {
		return fmt.Errorf("admin: list usage: %w", err)
	}
	if recs == nil {
		recs = []usage.Record{}
	}
	return writeJSON(w, http.StatusOK, recs)
}

// exportUsage answers GET /v1/usage/export: matching records that name a
// volume, in the seed's KeyUsageEvent XML (no limit unless ?limit= is
// given).
func (h *Handler) exportUsage(w http.ResponseWriter, c *call) error {
	l, err := h.usageLog()
	if err != nil {
		return err
	}
	q, err := usageQuery(c, 0)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := l.Export(c.ctx, &buf, q); err != nil {
		return fmt.Errorf("admin: export usage: %w", err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/xml")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// UsageImport is the answer to POST /v1/usage/import.
type UsageImport struct {
	// Imported is the number of records stored.
	Imported int `json:"imported"`
}

// importUsage answers POST /v1/usage/import: a seed XML body, stored
// whole or not at all; a malformed file is a 400 naming its line.
func (h *Handler) importUsage(w http.ResponseWriter, c *call) error {
	l, err := h.usageLog()
	if err != nil {
		return err
	}
	n, err := l.Import(c.ctx, c.r.Body)
	var (
		xerr   *seedxml.Error
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooBig):
		return tooBig // a 413
	case errors.As(err, &xerr):
		return badRequest("%v", xerr)
	case errors.Is(err, usage.ErrInvalid):
		return badRequest("%v", err)
	case err != nil:
		return err
	}
	h.log.Info("admin: usage records imported", "count", n, "client", c.principal.Name)
	w.Header().Set("X-Imported-Count", strconv.Itoa(n))
	return writeJSON(w, http.StatusOK, UsageImport{Imported: n})
}
