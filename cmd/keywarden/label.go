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
		newLabelShowCommand(), newLabelExportCertCommand(), newLabelExportKeyCommand(),
		newLabelExportCommand(), newLabelImportCommand())
	return cmd
}

// labelTable prints labels as a table.
func labelTable(labels ...client.Label) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "NAME", "BITS", "OAEP", "PRIVATE KEY", "NOT AFTER", "KEY HASH")
		for _, l := range labels {
			priv := strconv.FormatBool(l.HasPrivateKey)
			if l.HSM {
				priv = "in HSM " + strconv.Quote(l.HSMToken)
			}
			row(w, l.Name, strconv.Itoa(l.Bits), l.OAEPHash, priv,
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
		inHSM      bool
	)
	cmd := &cobra.Command{
		Use:   "create LABEL [--bits 2048] [--oaep-hash SHA-256|SHA-1] [--self-signed] [--hsm]",
		Short: "Create a key label: a new RSA key pair and its certificate",
		Long: `Create a key label. LABEL holds 1 to 64 letters, digits, '_', '-' and '.'. The certificate
is signed by the server's CA unless --self-signed. The private key never leaves the server.
With --hsm the key pair is generated in the server's PKCS#11 token (the master key's): the
private key is non-extractable and EEDKs are unwrapped in the token; without --oaep-hash the
token's best RSA-OAEP hash is chosen (SHA-256, else SHA-1: SoftHSM2 offers SHA-1 only).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				if inHSM && !cmd.Flags().Changed("oaep-hash") {
					oaepHash = "" // chosen by the token
				}
				l, err := c.CreateLabel(cmd.Context(), client.LabelSpec{
					Name: args[0], Bits: bits, OAEPHash: oaepHash, SelfSigned: selfSigned, HSM: inHSM,
				})
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), l, labelTable(*l))
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&bits, "bits", 2048, "RSA key size, 1024 to 4096 (1024 only for older drives and migrated labels)")
	f.StringVar(&oaepHash, "oaep-hash", "SHA-256", "RSA-OAEP hash of the label's EEDKs: SHA-256 or SHA-1")
	f.BoolVar(&selfSigned, "self-signed", false, "self-sign the certificate instead of using the server's CA")
	f.BoolVar(&inHSM, "hsm", false, "generate the key pair in the server's HSM (master key --seal pkcs11); the private key never leaves the token")
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
			return r.with(func(c *client.Client) error {
				l, err := c.ImportLabel(cmd.Context(), in)
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), l, labelTable(*l))
			})
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
			return r.with(func(c *client.Client) error {
				labels, err := c.Labels(cmd.Context())
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), labels, labelTable(labels...))
			})
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
			return r.with(func(c *client.Client) error {
				l, err := c.Label(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), l, labelTable(*l))
			})
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
			return r.with(func(c *client.Client) error {
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
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the certificate to (default: stdout)")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newLabelExportKeyCommand() *cobra.Command {
	var (
		r                  remote
		out, format, pfile string
	)
	cmd := &cobra.Command{
		Use:   "export-key LABEL --out FILE [--format pkcs12 --passphrase-file FILE | --format pem]",
		Short: "Export a key label's private key (admin only, audited)",
		Long: `Export a key label's private key, e.g. to build a backup key server or hand a label to
a business partner. Only an administrator certificate may do it, and the server's audit
trail records every export. Devices and KMIP clients can never fetch a label's private key.

--format pkcs12 (the default) writes a PKCS#12 file holding the key and its certificate,
encrypted under the passphrase read from the first line of --passphrase-file (at least 8
characters) with modern parameters (AES-256, PBKDF2-HMAC-SHA-256); "label import-cert
--p12" imports it on another server. --format pem writes the key alone, PEM PKCS#8,
UNENCRYPTED: use it only when the file is protected otherwise. FILE is created with mode
0600 and is never overwritten.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := client.LabelKeyExport{Format: format}
			switch format {
			case client.KeyFormatPKCS12:
				if pfile == "" {
					return fmt.Errorf("label export-key: --format pkcs12 needs --passphrase-file")
				}
				pass, err := readPassphraseFile(pfile)
				if err != nil {
					return err
				}
				in.Passphrase = pass
			case client.KeyFormatPEM:
				if pfile != "" {
					return fmt.Errorf("label export-key: a PEM export is not encrypted; use --format pkcs12 with --passphrase-file")
				}
			default:
				return fmt.Errorf("label export-key: --format %q: want pkcs12 or pem", format)
			}
			// Create the file first: nothing is asked of the server when it
			// cannot be written, and an existing file is never replaced.
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			written := false
			defer func() {
				if !written {
					f.Close()
					os.Remove(out)
				}
			}()
			return r.with(func(c *client.Client) error {
				data, err := c.ExportLabelKey(cmd.Context(), args[0], in)
				if err != nil {
					return err
				}
				defer clear(data)
				if _, err := f.Write(data); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				if err := f.Close(); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				written = true
				return r.done(cmd, fmt.Sprintf("wrote the private key of %s to %s (%s)", args[0], out, format))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "file to create (mode 0600; an existing file is not overwritten)")
	f.StringVar(&format, "format", client.KeyFormatPKCS12, "pkcs12 (encrypted, with the certificate) or pem (unencrypted PKCS#8 key)")
	f.StringVar(&pfile, "passphrase-file", "", "file whose first line is the PKCS#12 passphrase")
	_ = cmd.MarkFlagRequired("out") // only fails for an unknown flag
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// readPassphraseFile returns the first line of a passphrase file.
func readPassphraseFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--passphrase-file: %w", err)
	}
	defer clear(b)
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("--passphrase-file %s: the first line is empty", path)
	}
	return line, nil
}
