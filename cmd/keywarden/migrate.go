package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/keystore"
	"github.com/keywarden/keywarden/internal/migrate"
)

// progressThreshold is the request size above which a progress bar is
// shown (on a terminal only).
const progressThreshold = 1 << 20

func newMigrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring an EKM or ISKLM instance into a running keywarden server",
		Long: `Bring an IBM Encryption Key Manager (EKM) or Security Key Lifecycle Manager (ISKLM)
instance into a running keywarden server: its properties file, keystores (PKCS#12, JKS,
JCEKS), drive table, key groups and metadata file. See docs/migrating-from-ekm.md.`,
		Args: cobra.NoArgs,
		RunE: missingSubcommand,
	}
	cmd.AddCommand(newMigrateSourceCommand(migrate.ISKLM, "ISKLMConfig.properties"),
		newMigrateSourceCommand(migrate.EKM, "KeyManagerConfig.properties"))
	return cmd
}

// migrateFlags are the flags of migrate isklm and migrate ekm.
type migrateFlags struct {
	r                          remote
	src                        migrate.Sources
	keystoreType               string
	storePassFile, keyPassFile string
	onConflict                 string
	dryRun                     bool
}

func newMigrateSourceCommand(product migrate.Product, propsName string) *cobra.Command {
	var f migrateFlags
	name := strings.ToUpper(string(product))
	cmd := &cobra.Command{
		Use:   string(product) + " --properties " + propsName + " [flags]",
		Short: "Migrate an " + name + " instance (labels, drives, key groups, metadata)",
		Long: `Migrate an ` + name + ` instance into the running server named by --addr (admin
certificate required). The properties file names the keystore, the drive table, the key
groups file and the metadata file; flags override it. Files the properties name are also
looked for next to the properties file, by base name.

The drive table and the key groups are read in the export forms docs/migrating-from-ekm.md
documents (filedrive.table and KeyGroups.xml have no public description): a CSV
"serial,wwn,alias1,alias2,group" and <keygroups><keygroup name=".." aliases="des01-1f"/></keygroups>.
The metadata file is the KeyUsageEvent XML as ` + name + ` writes it.

The server plans the migration against what it holds: identical objects are skipped (running
twice changes nothing), differing ones are conflicts, resolved only by --on-conflict (fail,
the default, migrates nothing; skip keeps the server's object; rename imports labels and key
groups as NAME_ekm). --dry-run prints the plan and writes nothing. The real run is all or
nothing (a failed step undoes the earlier ones) and one audited request.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.src.Product = product
			return runMigrate(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.src.Properties, "properties", "", propsName+" of the old instance")
	fl.StringArrayVar(&f.src.Keystores, "keystore", nil, "keystore file: PKCS#12, JKS or JCEKS (repeatable; default config.keystore.file)")
	fl.StringVar(&f.keystoreType, "keystore-type", "", "jks, jceks or pkcs12 (default: detected)")
	fl.StringVar(&f.storePassFile, "keystore-password-file", "", "file holding the keystore password (default config.keystore.password)")
	fl.StringVar(&f.keyPassFile, "key-password-file", "", "file holding the private keys' password when it is not the keystore's")
	fl.StringVar(&f.src.DriveTable, "drivetable", "", "drive table export, CSV (default config.drivetable.file.url)")
	fl.StringVar(&f.src.KeyGroups, "keygroups", "", "key groups export, XML or CSV (default config.keygroup.xml.file)")
	fl.StringVar(&f.src.Metadata, "metadata", "", "metadata file, KeyUsageEvent XML (default Audit.metadata.file.name)")
	fl.StringVar(&f.src.Group, "group", "ekm", "device group for drive.default.alias1/2 and drives without a group")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print what would be imported; write nothing")
	fl.StringVar(&f.onConflict, "on-conflict", "fail", "what to do with objects that differ from the server's: fail, skip or rename")
	addRemoteFlags(cmd, &f.r, "cert")
	return cmd
}

// readSecretFile reads a password from the first line of a file.
func readSecretFile(flag, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimRight(line, "\r"), nil
}

func runMigrate(cmd *cobra.Command, f *migrateFlags) error {
	on, err := migrate.ParseOnConflict(f.onConflict)
	if err != nil {
		return err
	}
	if f.keystoreType != "" {
		if f.src.KeystoreType, err = keystore.ParseType(f.keystoreType); err != nil {
			return err
		}
	}
	if f.storePassFile != "" {
		if f.src.KeystorePassword, err = readSecretFile("keystore-password-file", f.storePassFile); err != nil {
			return err
		}
	}
	if f.keyPassFile != "" {
		if f.src.KeyPassword, err = readSecretFile("key-password-file", f.keyPassFile); err != nil {
			return err
		}
	}
	if f.src.Properties == "" && len(f.src.Keystores) == 0 && f.src.DriveTable == "" && f.src.KeyGroups == "" && f.src.Metadata == "" {
		return errors.New("nothing to migrate: give --properties, or --keystore, --drivetable, --keygroups or --metadata")
	}
	c, err := f.r.client()
	if err != nil {
		return err
	}
	defer c.Close()
	b, err := migrate.Load(f.src)
	if err != nil {
		return err
	}
	req := client.MigrationRequest{Bundle: toClientBundle(b), OnConflict: string(on), DryRun: f.dryRun}
	errw := cmd.ErrOrStderr()
	var progress func(sent, total int64)
	var bar *progressbar.ProgressBar
	if isTerminal(errw) {
		progress = func(sent, total int64) {
			if total < progressThreshold {
				return
			}
			if bar == nil {
				bar = progressbar.DefaultBytes(total, "sending")
			}
			_ = bar.Set64(sent)
		}
	}
	rep, err := c.Migrate(cmd.Context(), req, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	if rep == nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.r.output == "json" {
		if perr := printJSON(out, rep); perr != nil {
			return perr
		}
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(errw, "warning:", w)
	}
	if perr := printPlan(out, rep); perr != nil {
		return perr
	}
	switch {
	case err != nil:
		return err
	case f.dryRun:
		fmt.Fprintln(out, "dry run: nothing was written")
	case rep.Summary != nil:
		fmt.Fprint(out, summaryText(*rep.Summary))
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printPlan prints the plan as a table.
func printPlan(w io.Writer, rep *client.MigrationReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row(tw, "KIND", "NAME", "ACTION", "DETAIL")
	for _, it := range rep.Items {
		row(tw, it.Kind, it.Name, it.Verb, it.Detail)
	}
	return tw.Flush()
}

// summaryText formats the summary, one line per verb.
func summaryText(s client.MigrationSummary) string {
	var b strings.Builder
	line := func(verb string, m map[string]int) {
		var parts []string
		for _, k := range []string{"label", "partner", "group", "defaults", "device", "keygroup", "usage"} {
			if n := m[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, k))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, "%-10s %s\n", verb+":", strings.Join(parts, ", "))
		}
	}
	line("created", s.Created)
	line("renamed", s.Renamed)
	line("identical", s.Identical)
	line("skipped", s.Skipped)
	fmt.Fprintf(&b, "%-10s %d usage records imported\n", "usage:", s.UsageImported)
	return b.String()
}

// toClientBundle converts a bundle read from the sources to the request.
func toClientBundle(b *migrate.Bundle) client.MigrationBundle {
	out := client.MigrationBundle{Group: b.Group, Alias1: b.Alias1, Alias2: b.Alias2, Warnings: b.Warnings}
	for _, l := range b.Labels {
		out.Labels = append(out.Labels, client.MigrationLabel{Name: l.Name, CertPEM: l.CertPEM, KeyPEM: l.KeyPEM, From: l.From})
	}
	for _, d := range b.Drives {
		out.Drives = append(out.Drives, client.MigrationDrive{Family: d.Family, Serial: d.Serial, WWN: d.WWN,
			Alias1: d.Alias1, Alias2: d.Alias2, Group: d.Group, Line: d.Line})
	}
	for _, g := range b.KeyGroups {
		out.KeyGroups = append(out.KeyGroups, client.KeyGroupSpec{Name: g.Name, Aliases: g.Aliases})
	}
	for _, e := range b.Usage {
		out.Usage = append(out.Usage, client.MigrationEvent{DriveSSN: e.DriveSSN, VolSer: e.VolSer, DriveWWN: e.DriveWWN,
			KeyAlias1: e.KeyAlias1, KeyAlias2: e.KeyAlias2, Time: e.Time})
	}
	return out
}
