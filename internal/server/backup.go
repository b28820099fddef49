package server

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	kmipfe "github.com/keywarden/keywarden/internal/kmip"
	"github.com/keywarden/keywarden/internal/usage"
)

// Backup writes an encrypted backup of the running server to w under
// passphrase: a consistent snapshot of the store, the PKI and the audit
// trail (see internal/backup). The server goes on serving meanwhile. Once
// the whole backup is written, its snapshot time is recorded as the last
// backup (Config.RequireBackup). It is what POST /v1/backup streams.
func (s *Server) Backup(ctx context.Context, w io.Writer, passphrase []byte) error {
	m, err := backup.Write(ctx, w, backup.Source{
		DataDir: s.cfg.DataDir, Store: s.store, MasterKey: s.mk,
		AuditDir: filepath.Join(s.cfg.DataDir, AuditDir),
	}, passphrase, backup.Options{Version: s.cfg.Version, Node: s.cfg.Node})
	if err != nil {
		return err
	}
	s.log.Info("backup written", "snapshot", m.Created, "store_bytes", m.StoreBytes)
	if err := s.ledger.Record(ctx, backup.LastBackup{Snapshot: m.Created, Node: s.cfg.Node}); err != nil {
		s.log.Error("backup written but not recorded as the last backup", "err", err)
	}
	return nil
}

// LastBackup returns the last backup recorded in the store.
func (s *Server) LastBackup() backup.LastBackup { return s.ledger.Latest() }

// serveGate is the KMIP serve gate: with Config.RequireBackup, an object
// created after the last backup's snapshot is not handed out, unless the
// usage log shows that a storage device was already served it (a tape
// library's cartridge key, Tape Library profile): KMIP Get cannot tell a
// read from a write, and a cartridge already written with the key must
// stay readable. Refused Gets are not recorded, so under RequireBackup
// only a key served before the server required backups qualifies.
func (s *Server) serveGate() kmipfe.ServeGate {
	if !s.cfg.RequireBackup {
		return nil
	}
	s.log.Info("serving only keys that are in a backup", "last_backup", s.ledger.Last().Snapshot)
	return func(o *keys.Object) error {
		err := s.backedUp(o)
		if err != nil && s.servedToStorage(o.ID) {
			return nil
		}
		return err
	}
}

// servedToStorage reports whether the usage log records a KMIP Get that
// served object id to a storage device. A failure to read the log counts
// as no: the Get is refused.
func (s *Server) servedToStorage(id string) bool {
	recs, err := s.usage.Query(context.Background(), usage.Query{Alias: id})
	if err != nil {
		s.log.Warn("usage log not readable; serving only keys in a backup", "object", id, "err", err)
		return false
	}
	get := ttlv.EnumStr(kmip.OperationGet)
	for _, r := range recs {
		if r.KeyID == id && r.Protocol == usage.ProtocolKMIP && r.Operation == get && r.Outcome == usage.OutcomeOK {
			return true
		}
	}
	return false
}

// backedUp returns nil when o is in the last backup: created (Initial
// Date) before its snapshot, to the second (backup.Ledger.Covers).
func (s *Server) backedUp(o *keys.Object) error {
	created, ok := o.Date(kmip.AttributeNameInitialDate)
	if !ok {
		return nil // objects without a creation date predate any backup rule
	}
	return s.ledger.Covers(created)
}

// keyGroupGate is the device protocol's LTO gate with Config.RequireBackup:
// an LTO write is served only a key group key that is in a backup
// (backedUp). Unlike KMIP Get, the device protocol tells a write from a
// read, so a key already served gets no exception: reads are not gated.
func (s *Server) keyGroupGate() keygroups.Gate {
	if !s.cfg.RequireBackup {
		return nil
	}
	return s.backedUp
}

// deviceWriteGate is the device protocol's gate with Config.RequireBackup:
// keys are served under a label only when the label's private key (or, for
// a partner's certificate, the certificate) is in a backup, so that no tape
// is written that a lost server would leave unreadable.
func (s *Server) deviceWriteGate() func(ctx context.Context, labels ...string) error {
	if !s.cfg.RequireBackup {
		return nil
	}
	return func(ctx context.Context, names ...string) error {
		for _, name := range names {
			l, err := s.labels.Get(ctx, name)
			if err != nil {
				return err
			}
			id := l.PrivateKeyID
			if id == "" {
				id = l.CertificateID
			}
			o, err := s.keys.Get(ctx, id)
			if err != nil {
				return err
			}
			if created, ok := o.Date(kmip.AttributeNameInitialDate); ok {
				if err := s.ledger.Covers(created); err != nil {
					return fmt.Errorf("label %s: %w", name, err)
				}
			}
		}
		return nil
	}
}
