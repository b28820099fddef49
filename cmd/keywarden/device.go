package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newDeviceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "device",
		Short: "Manage the device table on a running server",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newDeviceListCommand(), newDeviceShowCommand(), newDeviceAddCommand(), newDeviceModifyCommand(),
		newDeviceDeleteCommand(), newDeviceActionCommand("approve"), newDeviceActionCommand("reject"))
	return cmd
}

// deviceTable prints devices as a table.
func deviceTable(devs ...client.Device) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ID", "FAMILY", "SERIAL", "WWN", "GROUP", "STATE", "ALIAS1", "ALIAS2", "CERTS", "LAST SEEN")
		for _, d := range devs {
			seen := ""
			if !d.LastSeen.IsZero() {
				seen = d.LastSeen.Format(time.RFC3339)
			}
			certs := ""
			if len(d.Fingerprints) > 0 {
				certs = fmt.Sprint(len(d.Fingerprints))
			}
			row(w, d.ID, d.Family, d.Serial, d.WWN, d.Group, d.State, d.Alias1, d.Alias2, certs, seen)
		}
	}
}

// deviceDetail prints one device, every field on its line.
func deviceDetail(d client.Device) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "id", d.ID)
		row(w, "family", d.Family)
		row(w, "serial", d.Serial)
		row(w, "wwn", d.WWN)
		row(w, "description", d.Description)
		row(w, "group", d.Group)
		row(w, "state", d.State)
		row(w, "alias1", d.Alias1)
		row(w, "alias2", d.Alias2)
		row(w, "key alias", d.KeyAlias)
		for _, t := range []struct {
			name string
			at   time.Time
		}{{"first seen", d.FirstSeen}, {"last seen", d.LastSeen}} {
			if t.at.IsZero() {
				row(w, t.name, "")
			} else {
				row(w, t.name, t.at.Format(time.RFC3339))
			}
		}
		row(w, "certificates", strings.Join(d.Fingerprints, " "))
	}
}

func newDeviceListCommand() *cobra.Command {
	var (
		r remote
		f client.DeviceFilter
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				devs, err := c.Devices(cmd.Context(), f)
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), devs, deviceTable(devs...))
			})
		},
	}
	cmd.Flags().StringVar(&f.Group, "group", "", "only devices of this group")
	cmd.Flags().StringVar(&f.Family, "family", "", "only devices of this family")
	cmd.Flags().StringVar(&f.State, "state", "", "only devices in this state: active, pending or disabled")
	cmd.Flags().StringVar(&f.Serial, "serial", "", "only devices with this serial number")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newDeviceShowCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a device",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				d, err := c.Device(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), d, deviceDetail(*d))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// deviceFlags are the settable fields of a device.
type deviceFlags struct {
	family, serial, wwn, description, group string
	alias1, alias2, keyAlias, state, cert   string
}

func addDeviceFlags(cmd *cobra.Command, d *deviceFlags, certHelp string) {
	f := cmd.Flags()
	f.StringVar(&d.wwn, "wwn", "", "world-wide name")
	f.StringVar(&d.description, "description", "", "free text")
	f.StringVar(&d.group, "group", "", "device group")
	f.StringVar(&d.alias1, "alias1", "", "key label 1 (3592; default: the group's)")
	f.StringVar(&d.alias2, "alias2", "", "key label 2 (3592; default: the group's)")
	f.StringVar(&d.keyAlias, "key-alias", "", "key alias (LTO)")
	f.StringVar(&d.state, "state", "", "state: active, pending or disabled")
	f.StringVar(&d.cert, "cert", "", certHelp)
}

func newDeviceAddCommand() *cobra.Command {
	var (
		r remote
		d deviceFlags
	)
	cmd := &cobra.Command{
		Use:   "add --family FAMILY --serial SERIAL [flags]",
		Short: "Add a device to the device table",
		Long: `Add a device to the device table. --cert binds a client certificate (PEM file) to the
device: a client presenting it is this device. The client certificate of the connection
itself is given with --client-cert and --client-key here (or the environment).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec := client.DeviceSpec{
				Family: d.family, Serial: d.serial, WWN: d.wwn, Description: d.description, Group: d.group,
				Alias1: d.alias1, Alias2: d.alias2, KeyAlias: d.keyAlias, State: d.state,
			}
			if d.cert != "" {
				pem, err := readPEMFile("--cert", d.cert)
				if err != nil {
					return err
				}
				spec.Certificate = pem
			}
			return r.with(func(c *client.Client) error {
				added, err := c.AddDevice(cmd.Context(), spec)
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), added, deviceDetail(*added))
			})
		},
	}
	cmd.Flags().StringVar(&d.family, "family", "", "device family: 3592, LTO, DS8K or GENERIC")
	cmd.Flags().StringVar(&d.serial, "serial", "", "serial number (unique per family)")
	addDeviceFlags(cmd, &d, "client certificate of the device (PEM file) to bind to it")
	_ = cmd.MarkFlagRequired("family") // only fails for an unknown flag
	_ = cmd.MarkFlagRequired("serial")
	addRemoteFlags(cmd, &r, "client-cert")
	return cmd
}

func newDeviceModifyCommand() *cobra.Command {
	var (
		r remote
		d deviceFlags
	)
	cmd := &cobra.Command{
		Use:   "modify ID [flags]",
		Short: "Change a device: only the flags given change",
		Long: `Change a device: only the flags given change. --cert binds one more client certificate
(PEM file) to the device; the connection's own certificate is --client-cert here.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch := client.DeviceChanges{
				WWN: changed(cmd, "wwn", d.wwn), Description: changed(cmd, "description", d.description),
				Group: changed(cmd, "group", d.group), Alias1: changed(cmd, "alias1", d.alias1),
				Alias2: changed(cmd, "alias2", d.alias2), KeyAlias: changed(cmd, "key-alias", d.keyAlias),
				State: changed(cmd, "state", d.state),
			}
			if d.cert != "" {
				pem, err := readPEMFile("--cert", d.cert)
				if err != nil {
					return err
				}
				ch.AddCertificate = &pem
			}
			if ch == (client.DeviceChanges{}) {
				return fmt.Errorf("device modify: nothing to change (see %q)", cmd.CommandPath()+" --help")
			}
			return r.with(func(c *client.Client) error {
				modified, err := c.ModifyDevice(cmd.Context(), args[0], ch)
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), modified, deviceDetail(*modified))
			})
		},
	}
	addDeviceFlags(cmd, &d, "one more client certificate of the device (PEM file) to bind to it")
	addRemoteFlags(cmd, &r, "client-cert")
	return cmd
}

func newDeviceDeleteCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Remove a device from the device table",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				if err := c.DeleteDevice(cmd.Context(), args[0]); err != nil {
					return err
				}
				return r.done(cmd, "deleted device "+args[0])
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// newDeviceActionCommand builds "device approve" and "device reject".
func newDeviceActionCommand(action string) *cobra.Command {
	var r remote
	short := map[string]string{
		"approve": "Approve a pending device: it becomes active and is served",
		"reject":  "Reject a pending device: it is refused from now on",
	}[action]
	cmd := &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				if action == "reject" {
					if err := c.RejectDevice(cmd.Context(), args[0]); err != nil {
						return err
					}
					return r.done(cmd, "rejected device "+args[0])
				}
				d, err := c.ApproveDevice(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), d, deviceDetail(*d))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
