package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/store"
)

// auditDirName is the audit trail's directory under the data directory.
const auditDirName = "audit"

// auditChainPurpose names the chain key derived from the master key: the
// server keys the trail with barrier.IndexKey([]byte(auditChainPurpose)).
const auditChainPurpose = "audit-chain"

func newAuditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show, search and verify the audit trail (every request served or refused)",
		Long: `Show, search and verify the audit trail.

Online (no --data-dir, and --addr or $` + client.EnvAddr + ` set): a running server answers
over the admin API (admin or auditor certificate).
Offline (--data-dir given, or no server address): the files in DIR/audit are read
directly; verify also opens the store for the chain key and the anchored head, so it
needs the master key and a stopped server.`,
		Args: cobra.NoArgs,
		RunE: missingSubcommand,
	}
	cmd.AddCommand(newAuditShowCommand(), newAuditSearchCommand(), newAuditVerifyCommand())
	return cmd
}

// auditSource holds the flags that choose where the trail is read.
type auditSource struct {
	r                       remote
	dataDir, passphraseFile string
	dir, name               string
}

func addAuditSourceFlags(cmd *cobra.Command, s *auditSource) {
	addDataDirFlags(cmd, &s.dataDir, &s.passphraseFile)
	cmd.Flags().StringVar(&s.dir, "audit-dir", "", "offline: the audit directory (Audit.handler.file.directory; default DIR/audit)")
	cmd.Flags().StringVar(&s.name, "audit-name", audit.DefaultName, "offline: the audit file name (Audit.handler.file.name)")
	addRemoteFlags(cmd, &s.r, "cert")
}

// online reports whether the command talks to a running server.
func (s *auditSource) online(cmd *cobra.Command) bool {
	return !cmd.Flags().Changed("data-dir") && !cmd.Flags().Changed("audit-dir") && s.r.config().Addr != ""
}

// auditDir is the offline audit directory.
func (s *auditSource) auditDir() string {
	if s.dir != "" {
		return s.dir
	}
	return filepath.Join(s.dataDir, auditDirName)
}

// auditFlags are the search filters.
type auditFlags struct {
	since, until, device, object, label, volser, outcome, operation, typ string
	limit                                                                int
}

func addAuditFilterFlags(cmd *cobra.Command, a *auditFlags) {
	f := cmd.Flags()
	f.StringVar(&a.since, "since", "", "only records from this time: RFC 3339 or a duration back from now (24h)")
	f.StringVar(&a.until, "until", "", "only records up to this time: RFC 3339 or a duration back from now")
	f.StringVar(&a.device, "device", "", "only this device: device id, drive serial, WWN, client name or certificate fingerprint")
	f.StringVar(&a.object, "object", "", "only records naming this object identifier")
	f.StringVar(&a.label, "label", "", "only records naming this key label, alias or key group")
	f.StringVar(&a.volser, "volser", "", "only this volume serial")
	f.StringVar(&a.outcome, "outcome", "", "only this outcome: success, failure or denied")
	f.StringVar(&a.operation, "operation", "", "only this operation (Get, write-key, POST /v1/labels, …)")
	f.StringVar(&a.typ, "type", "", "only this event type: key, lifecycle, auth, device, config, server, query")
	f.IntVar(&a.limit, "limit", 0, "at most the last N matching records (online default: the server's, 1000)")
}

// parseWhen reads an RFC 3339 time or a positive duration back from now.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want an RFC 3339 time (2024-03-01T12:00:00Z) or a positive duration (24h)", flag, s)
}

// filter checks the flags and returns the search filter.
func (a auditFlags) filter(now time.Time) (audit.Filter, error) {
	f := audit.Filter{Device: a.device, Object: a.object, Label: a.label, Volser: a.volser, Operation: a.operation,
		Outcome: audit.Outcome(a.outcome), Type: audit.Type(a.typ), Limit: a.limit}
	var err error
	if f.Since, err = parseWhen("since", a.since, now); err != nil {
		return f, err
	}
	if f.Until, err = parseWhen("until", a.until, now); err != nil {
		return f, err
	}
	switch f.Outcome {
	case "", audit.Success, audit.Failure, audit.Denied:
	default:
		return f, fmt.Errorf("--outcome %q: want success, failure or denied", a.outcome)
	}
	if a.typ != "" {
		if types, err := audit.ParseTypes(a.typ); err != nil || len(types) != 1 {
			return f, fmt.Errorf("--type %q: want one of %v", a.typ, audit.Types())
		}
	}
	if a.limit < 0 {
		return f, fmt.Errorf("--limit %d: want 0 or more", a.limit)
	}
	return f, nil
}

// search answers the filter online or offline.
func (s *auditSource) search(cmd *cobra.Command, f audit.Filter) ([]audit.Record, error) {
	if !s.online(cmd) {
		return audit.Search(cmd.Context(), s.auditDir(), s.name, f)
	}
	c, err := s.r.client()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	recs, err := c.Audit(cmd.Context(), client.AuditFilter{
		Since: f.Since, Until: f.Until, Device: f.Device, Object: f.Object, Label: f.Label, Volser: f.Volser,
		Outcome: string(f.Outcome), Operation: f.Operation, Type: string(f.Type), Limit: f.Limit,
	})
	if err != nil {
		return nil, err
	}
	out := make([]audit.Record, 0, len(recs))
	for _, r := range recs {
		out = append(out, fromClientRecord(r))
	}
	return out, nil
}

// fromClientRecord converts a record the API answered.
func fromClientRecord(r client.AuditRecord) audit.Record {
	return audit.Record{Seq: r.Seq, Prev: r.Prev, MAC: r.MAC, Event: audit.Event{
		Time: r.Time, Node: r.Node, Type: audit.Type(r.Type), Protocol: audit.Protocol(r.Protocol), Operation: r.Operation,
		Client: audit.Client{Fingerprint: r.Client.Fingerprint, Name: r.Client.Name, Role: r.Client.Role,
			DeviceID: r.Client.DeviceID, Serial: r.Client.Serial, WWN: r.Client.WWN},
		Remote: r.Remote, Objects: r.Objects, Labels: r.Labels, Volser: r.Volser, Outcome: audit.Outcome(r.Outcome),
		Reason: r.Reason, Latency: r.Latency,
	}}
}

func newAuditSearchCommand() *cobra.Command {
	var (
		s auditSource
		a auditFlags
	)
	cmd := &cobra.Command{
		Use:   "search [--since T] [--until T] [--device D] [--object ID] [--label L] [--volser V] [--outcome O] [--operation OP] [-o table|json]",
		Short: "Search the audit trail, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(s.r.output); err != nil {
				return err
			}
			f, err := a.filter(time.Now())
			if err != nil {
				return err
			}
			recs, err := s.search(cmd, f)
			if err != nil {
				return err
			}
			return s.r.print(cmd.OutOrStdout(), recs, auditTable(recs))
		},
	}
	addAuditFilterFlags(cmd, &a)
	addAuditSourceFlags(cmd, &s)
	return cmd
}

// auditTable prints records as a table.
func auditTable(recs []audit.Record) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "SEQ", "TIME", "PROTOCOL", "OPERATION", "OUTCOME", "CLIENT", "DEVICE", "VOLSER", "OBJECTS", "LABELS", "REASON")
		for _, r := range recs {
			device := r.Client.DeviceID
			if device == "" {
				device = r.Client.Serial
			}
			row(w, fmt.Sprint(r.Seq), r.Time.UTC().Format(time.RFC3339), string(r.Protocol), r.Operation, string(r.Outcome),
				r.Client.Name, device, r.Volser, strings.Join(r.Objects, ","), strings.Join(r.Labels, ","), r.Reason)
		}
	}
}

func newAuditShowCommand() *cobra.Command {
	var (
		s auditSource
		a auditFlags
	)
	cmd := &cobra.Command{
		Use:   "show [filters]",
		Short: "Print audit records in the seed's readable layout (Runtime event: timestamp= … resource= …)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(s.r.output); err != nil {
				return err
			}
			f, err := a.filter(time.Now())
			if err != nil {
				return err
			}
			recs, err := s.search(cmd, f)
			if err != nil {
				return err
			}
			if s.r.output == "json" {
				return printJSON(cmd.OutOrStdout(), recs)
			}
			return renderAll(cmd.OutOrStdout(), recs)
		},
	}
	addAuditFilterFlags(cmd, &a)
	addAuditSourceFlags(cmd, &s)
	return cmd
}

func renderAll(w io.Writer, recs []audit.Record) error {
	for _, r := range recs {
		if err := audit.Render(w, r); err != nil {
			return err
		}
	}
	return nil
}

func newAuditVerifyCommand() *cobra.Command {
	var s auditSource
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit trail's HMAC chain and anchored head; exit non-zero at the first altered, removed or reordered record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(s.r.output); err != nil {
				return err
			}
			var (
				v   *client.AuditVerification
				err error
			)
			if s.online(cmd) {
				v, err = verifyOnline(cmd.Context(), &s.r)
			} else {
				v, err = verifyOffline(cmd.Context(), &s)
			}
			if err != nil {
				return err
			}
			if s.r.output == "json" {
				if err := printJSON(cmd.OutOrStdout(), v); err != nil {
					return err
				}
			} else if v.OK {
				fmt.Fprintf(cmd.OutOrStdout(), "audit trail verified: %d records in %d files, seq %d to %d%s\n",
					v.Records, v.Files, v.FirstSeq, v.LastSeq, anchorNote(v))
			}
			if p := v.Problem; p != nil {
				return fmt.Errorf("audit verify: %s record at %s line %d (seq %d): %s", p.Kind, p.File, p.Line, p.Seq, p.Detail)
			}
			return nil
		},
	}
	addAuditSourceFlags(cmd, &s)
	return cmd
}

// anchorNote tells what the anchor check found.
func anchorNote(v *client.AuditVerification) string {
	switch {
	case v.AnchorChecked:
		return fmt.Sprintf("; anchored head seq %d matches", v.Anchored.Seq)
	case v.Anchored.Seq == 0:
		return "; no anchored head"
	}
	return ""
}

func verifyOnline(ctx context.Context, r *remote) (*client.AuditVerification, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.VerifyAudit(ctx)
}

// verifyOffline derives the chain key from the master key, loads the
// anchored head from the store and verifies the files.
func verifyOffline(ctx context.Context, s *auditSource) (*client.AuditVerification, error) {
	ok, err := server.Initialized(s.dataDir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("audit verify: %s is not initialised", s.dataDir)
	}
	mk, err := barrier.OpenMasterKey(s.dataDir, s.passphraseFile)
	if err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	st, err := store.OpenBolt(filepath.Join(s.dataDir, server.StoreFile), store.BoltOptions{})
	if errors.Is(err, store.ErrInUse) {
		return nil, fmt.Errorf("audit verify: the server is running on %s: verify online (without --data-dir, with --addr or $%s)", s.dataDir, client.EnvAddr)
	}
	if err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	defer st.Close()
	b, err := barrier.New(ctx, st, mk, barrier.Options{})
	if err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	anchor, err := audit.NewStoreAnchor(st, b)
	if err != nil {
		return nil, err
	}
	head, err := anchor.Load(ctx)
	if err != nil {
		return nil, err
	}
	key := b.IndexKey([]byte(auditChainPurpose))
	defer clear(key)
	rep, err := audit.Verify(s.auditDir(), s.name, key, head)
	if err != nil && !errors.Is(err, audit.ErrTampered) {
		return nil, err
	}
	v := &client.AuditVerification{
		OK: rep.Problem == nil, Files: rep.Files, Records: rep.Records, FirstSeq: rep.FirstSeq, LastSeq: rep.LastSeq,
		Anchored:      client.AuditHead{Seq: rep.Anchored.Seq, MAC: rep.Anchored.MAC, Time: rep.Anchored.Time},
		AnchorChecked: rep.AnchorChecked,
	}
	if p := rep.Problem; p != nil {
		v.Problem = &client.AuditProblem{Kind: p.Kind, File: p.File, Line: p.Line, Seq: p.Seq, Detail: p.Detail}
	}
	return v, nil
}
