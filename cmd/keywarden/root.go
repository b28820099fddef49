package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// dataDirEnv names the environment variable that sets the default data
// directory.
const dataDirEnv = "KEYWARDEN_DATA_DIR"

// fallbackDataDir is the data directory when neither --data-dir nor
// $KEYWARDEN_DATA_DIR is given.
const fallbackDataDir = "keywarden-data"

// newRootCommand builds the command tree.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "keywarden",
		Short:         "keywarden serves encryption keys to tape drives, disk arrays and KMIP clients",
		SilenceErrors: true, // main prints the error once
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %q)", err, cmd.CommandPath()+" --help")
	})
	root.AddCommand(newInitCommand(), newServeCommand(), newCertCommand(), newVersionCommand(),
		newStatusCommand(), newGroupCommand(), newDeviceCommand(), newPendingCommand(), newKeyCommand())
	root.AddCommand(newUsageCommand())
	root.AddCommand(newAuditCommand())
	root.AddCommand(newLabelCommand())
	root.AddCommand(newKeyGroupCommand())
	root.AddCommand(newSimCommand())
	root.AddCommand(newKeyringCommand(), newMasterKeyCommand())
	root.AddCommand(newConfigCommand())
	root.AddCommand(newBackupCommand(), newRestoreCommand())
	root.AddCommand(newMigrateCommand())
	root.AddCommand(newClusterCommand())
	root.AddCommand(newKMIPUserCommand())
	return root
}

// defaultDataDir is $KEYWARDEN_DATA_DIR, else ./keywarden-data.
func defaultDataDir() string {
	if dir := os.Getenv(dataDirEnv); dir != "" {
		return dir
	}
	return fallbackDataDir
}

// addDataDirFlags adds --data-dir and --passphrase-file.
func addDataDirFlags(cmd *cobra.Command, dataDir, passphraseFile *string) {
	cmd.Flags().StringVar(dataDir, "data-dir", defaultDataDir(),
		"data directory (default from $"+dataDirEnv+", else ./"+fallbackDataDir+")")
	cmd.Flags().StringVar(passphraseFile, "passphrase-file", "",
		"file holding the passphrase that seals the master key (without it the master key is stored raw, mode 0600)")
}

// newLogger returns a text logger on stderr at level ("debug", "info",
// "warn" or "error").
func newLogger(level string) (*slog.Logger, error) {
	levels := map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	}
	l, ok := levels[strings.ToLower(level)]
	if !ok {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
