package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/keywarden/keywarden/client"
)

// Create a device group for 3592 tape drives and a drive in it, using the
// connection settings in KEYWARDEN_ADDR, KEYWARDEN_CACERT,
// KEYWARDEN_CLIENT_CERT and KEYWARDEN_CLIENT_KEY.
func Example() {
	c, err := client.New(client.ConfigFromEnv())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	g, err := c.CreateGroup(ctx, client.GroupSpec{
		Name: "TAPES", Family: "3592", Alias1: "LABEL1", Alias2: "LABEL2", Unknown: "pending",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("group", g.Name, g.Family, g.Unknown)

	d, err := c.AddDevice(ctx, client.DeviceSpec{Family: "3592", Serial: "0000078A1234", Group: "TAPES"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("device", d.Serial, "in", d.Group, "is", d.State)

	// A second drive with the same serial number is refused.
	_, err = c.AddDevice(ctx, client.DeviceSpec{Family: "3592", Serial: "0000078A1234", Group: "TAPES"})
	fmt.Println("HTTP status", client.StatusOf(err))
	// Output:
	// group TAPES 3592 pending
	// device 0000078A1234 in TAPES is active
	// HTTP status 409
}
