package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/config"
)

// newConfigCommand builds "keywarden config": check and convert.
func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a configuration file or convert an ISKLM/EKM property file",
	}
	cmd.AddCommand(newConfigCheckCommand(), newConfigConvertCommand())
	return cmd
}

func newConfigCheckCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check --config FILE",
		Short: "Validate a configuration and print the effective one, secrets redacted",
		Long: `Read FILE (keywarden's native format, or an ISKLM/EKM property file such as
ISKLMConfig.properties), apply the KEYWARDEN_* environment as serve does, and print:
the warnings (values keywarden does not act on, and what it does instead), for a
property file every property with its effect, and the effective configuration with
where each value comes from. Passwords are never printed. A mistake is reported with
the file, line and key, and the command fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				path = os.Getenv(configEnv)
			}
			f := config.Empty()
			if path != "" {
				var err error
				if f, err = config.Load(path); err != nil {
					return err
				}
			}
			if err := f.ApplyEnv(os.Environ()); err != nil {
				return err
			}
			return f.WriteCheck(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (default $"+configEnv+")")
	return cmd
}

func newConfigConvertCommand() *cobra.Command {
	var path, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "convert --config ISKLMConfig.properties --out keywarden.conf",
		Short: "Write the native equivalent of a configuration file",
		Long: `Read FILE (an ISKLM/EKM property file, or a native file) and write its native
equivalent to --out ("-" for standard output): the settings that differ from the
defaults, with the properties keywarden does not act on listed as comments.
Passwords are not carried over. The environment is not applied. An existing --out is
not overwritten without --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return errors.New("--config is required")
			}
			if out == "" {
				return errors.New("--out is required (- for standard output)")
			}
			f, err := config.Load(path)
			if err != nil {
				return err
			}
			data := f.Native(false)
			// The converted file must read back as the same configuration.
			if _, err := config.ParseNative(out, data); err != nil {
				return fmt.Errorf("config convert: the converted file does not read back (please report): %w", err)
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			fh, err := os.OpenFile(filepath.Clean(out), flags, 0o640)
			if err != nil {
				if errors.Is(err, os.ErrExist) {
					return fmt.Errorf("config convert: %s exists (--force overwrites it)", out)
				}
				return fmt.Errorf("config convert: %w", err)
			}
			if _, err := fh.Write(data); err != nil {
				_ = fh.Close()
				return fmt.Errorf("config convert: write %s: %w", out, err)
			}
			if err := fh.Close(); err != nil {
				return fmt.Errorf("config convert: close %s: %w", out, err)
			}
			for _, w := range f.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+w.String())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (from %s, %s format)\n", out, path, f.Format)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "file to convert (ISKLMConfig.properties or a native file)")
	cmd.Flags().StringVar(&out, "out", "", "native file to write, or - for standard output")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite --out if it exists")
	return cmd
}
