package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newLabelExportCommand() *cobra.Command {
	var (
		r                     remote
		labelList, groupList  string
		recipient, pfile, out string
	)
	cmd := &cobra.Command{
		Use:   "export --labels L1,L2 [--keygroups G1] (--recipient backup-server.pem | --passphrase-file FILE) --out bundle.kwx",
		Short: "Export labels (certificates and private keys) and key groups as an encrypted bundle",
		Long: `Export key labels — certificate and private key — and LTO key groups — every key's material —
as one bundle, built by the server and encrypted before it leaves it:

  --recipient FILE        to the receiving server's certificate (its DIR/pki/server.pem):
                          HPKE (RFC 9180); only that server can open the bundle
  --passphrase-file FILE  under the passphrase on the file's first line (Argon2id,
                          AES-256-GCM); any server opens it with the passphrase

On the other server, "keywarden label import --in bundle.kwx" imports it. Both are audited.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("label export: --out is required")
			}
			if (recipient == "") == (pfile == "") {
				return errors.New("label export: give either --recipient or --passphrase-file")
			}
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("label export: %s already exists", out)
			}
			spec := client.BundleExport{Labels: splitList(labelList), KeyGroups: splitList(groupList)}
			if len(spec.Labels) == 0 && len(spec.KeyGroups) == 0 {
				return errors.New("label export: name at least one label (--labels) or key group (--keygroups)")
			}
			var err error
			if recipient != "" {
				if spec.RecipientPEM, err = readPEMFile("--recipient", recipient); err != nil {
					return err
				}
			} else if spec.Passphrase, err = readPassphraseFile(pfile); err != nil {
				return err
			}
			return r.with(func(c *client.Client) error {
				data, err := c.ExportBundle(cmd.Context(), spec)
				if err != nil {
					return err
				}
				if err := writeNewFile(out, data, 0o600); err != nil {
					return fmt.Errorf("label export: %w", err)
				}
				return r.done(cmd, fmt.Sprintf("bundle of %d label(s) and %d key group(s) written to %s",
					len(spec.Labels), len(spec.KeyGroups), out))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&labelList, "labels", "", "labels to export, comma-separated")
	f.StringVar(&groupList, "keygroups", "", "key groups to export, comma-separated")
	f.StringVar(&recipient, "recipient", "", "certificate of the receiving server (its DIR/pki/server.pem)")
	f.StringVar(&pfile, "passphrase-file", "", "encrypt under the passphrase on this file's first line instead")
	f.StringVar(&out, "out", "", "bundle file to create (mode 0600)")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newLabelImportCommand() *cobra.Command {
	var (
		r                 remote
		in, pfile, suffix string
		skip, rename      bool
	)
	cmd := &cobra.Command{
		Use:   "import --in bundle.kwx [--passphrase-file FILE] [--skip | --rename [--rename-suffix S]]",
		Short: "Import a label bundle made by label export on another server",
		Long: `Import a bundle made by "keywarden label export". A bundle encrypted to this server's
certificate is opened by the server with its own private key; a passphrase bundle needs
--passphrase-file.

Every label and key group is checked first. The same name with the same key is already
there and left alone; the same name with another key is a conflict: the whole import is
refused (nothing is written) unless --skip (keep this server's, leave the bundle's out)
or --rename (import the label under NAME_IMPORTED; key groups cannot be renamed, since
tapes record their aliases).

Labels are written first, key groups last. If a write fails, the labels already written
are removed again and the command lists each write with what became of it: "undone", or
"left" on the server with why (a key group is never undone: its name and aliases would
stay taken). When nothing is left, the server holds what it held before.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return errors.New("label import: --in is required")
			}
			if skip && rename {
				return errors.New("label import: --skip and --rename exclude each other")
			}
			data, err := os.ReadFile(in)
			if err != nil {
				return fmt.Errorf("label import: %w", err)
			}
			req := client.BundleImport{Bundle: data, OnConflict: "refuse", RenameSuffix: suffix}
			switch {
			case skip:
				req.OnConflict = "skip"
			case rename:
				req.OnConflict = "rename"
			}
			if pfile != "" {
				if req.Passphrase, err = readPassphraseFile(pfile); err != nil {
					return err
				}
			}
			return r.with(func(c *client.Client) error {
				res, err := c.ImportBundle(cmd.Context(), req)
				var failed *client.BundleImportError
				if errors.As(err, &failed) {
					return printImportFailure(cmd.OutOrStdout(), cmd.ErrOrStderr(), r.output, failed)
				}
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
					row(tw, "KIND", "NAME", "ACTION", "AS", "DETAIL")
					for _, o := range res.Items {
						row(tw, o.Kind, o.Name, o.Action, o.As, o.Detail)
					}
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "in", "", "bundle file")
	f.StringVar(&pfile, "passphrase-file", "", "file whose first line is the bundle's passphrase")
	f.BoolVar(&skip, "skip", false, "on a conflict, keep this server's label or key group")
	f.BoolVar(&rename, "rename", false, "on a label conflict, import under a new name")
	f.StringVar(&suffix, "rename-suffix", "", "suffix of renamed labels (default _IMPORTED)")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// splitList splits a comma-separated flag, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
