package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newLabelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "label",
		Short: "Manage key labels (RSA key pairs with certificates that wrap 3592 data keys)",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newLabelCreateCommand(), newLabelImportCertCommand(), newLabelListCommand(),
		newLabelShowCommand(), newLabelExportCertCommand())
	return cmd
}

// labelTable prints labels as a table.
func labelTable(labels ...client.Label) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "NAME", "BITS", "OAEP", "PRIVATE KEY", "NOT AFTER", "KEY HASH")
		for _, l := range labels {
			row(w, l.Name, strconv.Itoa(l.Bits), l.OAEPHash, strconv.FormatBool(l.HasPrivateKey),
				l.NotAfter.UTC().Format(time.DateOnly), l.KeyHash)
		}
	}
}

func newLabelCreateCommand() *cobra.Command {
	var (
		r          remote
		bits       int
		oaepHash   string
		selfSigned bool
	)
	cmd := &cobra.Command{
		Use:   "create LABEL [--bits 2048] [--oaep-hash SHA-256|SHA-1] [--self-signed]",
		Short: "Create a key label: a new RSA key pair and its certificate",
		Long: `Create a key label. LABEL holds 1 to 64 letters, digits, '_', '-' and '.'. The certificate
is signed by the server's CA unless --self-signed. The private key never leaves the server.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			l, err := c.CreateLabel(cmd.Context(), client.LabelSpec{
				Name: args[0], Bits: bits, OAEPHash: oaepHash, SelfSigned: selfSigned,
			})
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), l, labelTable(*l))
		},
	}
	f := cmd.Flags()
	f.IntVar(&bits, "bits", 2048, "RSA key size, 1024 to 4096 (1024 only for older drives and migrated labels)")
	f.StringVar(&oaepHash, "oaep-hash", "SHA-256", "RSA-OAEP hash of the label's EEDKs: SHA-256 or SHA-1")
	f.BoolVar(&selfSigned, "self-signed", false, "self-sign the certificate instead of using the server's CA")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newLabelImportCertCommand() *cobra.Command {
	var (
		r                 remote
		certFile, keyFile string
		p12File, passFile string
		oaepHash          string
	)
	cmd := &cobra.Command{
		Use:   "import-cert LABEL --cert partner.pem [--key key.pem] | --p12 FILE --p12-password-file FILE",
		Short: "Import a label's certificate, with its private key or (a partner's label) without",
		Long: `Import a key label from a PEM certificate. Without --key the label is a partner's
public key only: it wraps data keys but cannot unwrap them. --key takes a PEM RSA private
key (PKCS#1 or PKCS#8). --p12 imports a PKCS#12 file holding both, opened with the password
in --p12-password-file (its first line).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := labelImport(args[0], certFile, keyFile, p12File, passFile)
			if err != nil {
				return err
			}
			in.OAEPHash = oaepHash
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			l, err := c.ImportLabel(cmd.Context(), in)
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), l, labelTable(*l))
		},
	}
	f := cmd.Flags()
	f.StringVar(&certFile, "cert", "", "PEM certificate of the label (required)")
	f.StringVar(&keyFile, "key", "", "PEM private key of the label (omit for a partner's certificate)")
	f.StringVar(&p12File, "p12", "", "PKCS#12 file holding the label's certificate and private key")
	f.StringVar(&passFile, "p12-password-file", "", "file whose first line is the PKCS#12 password")
	f.StringVar(&oaepHash, "oaep-hash", "SHA-256", "RSA-OAEP hash of the label's EEDKs: SHA-256 or SHA-1")
	cmd.MarkFlagsOneRequired("cert", "p12")
	cmd.MarkFlagsMutuallyExclusive("cert", "p12")
	cmd.MarkFlagsMutuallyExclusive("key", "p12")
	addRemoteFlags(cmd, &r, "client-cert")
	return cmd
}

// labelImport reads the files of label import-cert.
func labelImport(name, certFile, keyFile, p12File, passFile string) (client.LabelImport, error) {
	in := client.LabelImport{Name: name}
	var err error
	if p12File != "" {
		if in.PKCS12, err = os.ReadFile(p12File); err != nil {
			return in, fmt.Errorf("--p12: %w", err)
		}
		if passFile != "" {
			pass, err := os.ReadFile(passFile)
			if err != nil {
				return in, fmt.Errorf("--p12-password-file: %w", err)
			}
			in.Password, _, _ = strings.Cut(string(pass), "\n")
			in.Password = strings.TrimSuffix(in.Password, "\r")
		}
		return in, nil
	}
	if in.CertPEM, err = readPEMFile("--cert", certFile); err != nil {
		return in, err
	}
	if keyFile != "" {
		if in.KeyPEM, err = readPEMFile("--key", keyFile); err != nil {
			return in, err
		}
	}
	return in, nil
}

func newLabelListCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List key labels",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			labels, err := c.Labels(cmd.Context())
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), labels, labelTable(labels...))
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newLabelShowCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "show LABEL",
		Short: "Show a key label",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			l, err := c.Label(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), l, labelTable(*l))
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newLabelExportCertCommand() *cobra.Command {
	var (
		r   remote
		out string
	)
	cmd := &cobra.Command{
		Use:   "export-cert LABEL [--out FILE]",
		Short: "Write a key label's certificate (PEM) to stdout or a file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			certPEM, err := c.LabelCert(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(certPEM)
				return err
			}
			if err := os.WriteFile(out, certPEM, 0o644); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the certificate to (default: stdout)")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
