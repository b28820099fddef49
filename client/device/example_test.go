package device_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/device/codec"
)

// A 3592 drive asks for a data key for a new volume, trying the secondary
// server if the primary does not answer, and later reads the volume back
// with the EEDKs it wrote on the tape.
func Example() {
	pair, err := tls.LoadX509KeyPair("drive.pem", "drive-key.pem")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := device.New(device.Config{
		Servers: []string{"keys1.example.com:1443", "keys2.example.com:1443"},
		TLS:     &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		Timeout: 5 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	dataKey, eedk1, eedk2, err := c.WriteKey(ctx, codec.WriteKeyRequest{
		DriveSerial: "0000078A1234", WWN: "500507630F12345", Volser: "VOL001",
	})
	if err != nil {
		fmt.Println(err) // a refusal is a *device.Error naming its status
		return
	}
	clear(dataKey) // encrypt the volume with it, then forget it

	dataKey, err = c.ReadKey(ctx, "0000078A1234", "VOL001", eedk1, eedk2)
	if err != nil {
		fmt.Println(err)
		return
	}
	clear(dataKey)
}
