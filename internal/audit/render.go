package audit

import (
	"fmt"
	"io"
	"strings"
)

// seedTimeLayout is the seed's audit timestamp: Tue Oct 18 19:35:09 GMT 2011.
const seedTimeLayout = "Mon Jan 02 15:04:05 GMT 2006"

// seedEventType names each type as the seed's audit records do.
var seedEventType = map[Type]string{
	TypeKey:       "SECURITY_RUNTIME",
	TypeLifecycle: "SECURITY_MGMT_KEY",
	TypeAuth:      "SECURITY_AUTHN",
	TypeDevice:    "SECURITY_MGMT_DEVICE",
	TypeConfig:    "SECURITY_MGMT_CONFIG",
	TypeServer:    "SECURITY_SERVER",
	TypeQuery:     "SECURITY_RUNTIME_QUERY",
}

// seedHeading is the first line of each type's record.
var seedHeading = map[Type]string{
	TypeKey:       "Runtime event:",
	TypeLifecycle: "Key lifecycle event:",
	TypeAuth:      "Authentication event:",
	TypeDevice:    "Device event:",
	TypeConfig:    "Configuration event:",
	TypeServer:    "Server event:",
	TypeQuery:     "Query event:",
}

// Render writes r in the human-readable layout of the seed's file-based
// audit records (Runtime event: / timestamp= / outcome= / event type= /
// resource= …), followed by keywarden's extra fields and a blank line.
func Render(w io.Writer, r Record) error {
	heading := seedHeading[r.Type]
	if heading == "" {
		heading = "Event:"
	}
	evType := seedEventType[r.Type]
	if evType == "" {
		evType = strings.ToUpper(string(r.Type))
	}
	result := map[Outcome]string{Success: "successful", Failure: "failure", Denied: "denied"}[r.Outcome]
	if result == "" {
		result = string(r.Outcome)
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("%s", heading)
	line("timestamp= %s", r.Time.UTC().Format(seedTimeLayout))
	if r.Node != "" {
		line("ComponentId= %s", r.Node)
	}
	line("event source= keywarden.%s", r.Protocol)
	line("outcome= result= %s", result)
	line("event type= %s", evType)
	line("resource= name= %s;type=%s", resource(r), r.Protocol)
	if who := client(r.Client); who != "" {
		line("client= %s", who)
	}
	if r.Remote != "" {
		line("remote= %s", r.Remote)
	}
	if r.Reason != "" {
		line("reason= %s", r.Reason)
	}
	if r.Latency > 0 {
		line("latency= %s", r.Latency)
	}
	line("seq= %d", r.Seq)
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// resource is the seed's "resource= name=" text: the operation, then the
// drive, the volume and the key labels.
func resource(r Record) string {
	var b strings.Builder
	b.WriteString(r.Operation)
	sep := ": "
	add := func(name, value string) {
		if value == "" {
			return
		}
		b.WriteString(sep + name + value)
		sep = " "
	}
	add("Drive Serial Number: ", r.Client.Serial)
	add("WWN:", r.Client.WWN)
	add("Device: ", r.Client.DeviceID)
	add("VolSer: ", r.Volser)
	for i, l := range r.Labels {
		add(fmt.Sprintf("Key Alias/Label[%d]: ", i), l)
	}
	for i, o := range r.Objects {
		add(fmt.Sprintf("Object[%d]: ", i), o)
	}
	return b.String()
}

// client describes who called.
func client(c Client) string {
	var parts []string
	if c.Name != "" {
		parts = append(parts, c.Name)
	}
	if c.Role != "" {
		parts = append(parts, "role="+c.Role)
	}
	if c.Fingerprint != "" {
		parts = append(parts, "fingerprint="+c.Fingerprint)
	}
	return strings.Join(parts, " ")
}
