package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The handlers of the audit, drive, keystore and miscellaneous ISKLM/EKM
// properties (see isklmProperties).

func (m *mapper) auditSize(p *Property, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > 1<<30 {
		return fmt.Errorf("%q: want a size in KiB such as 10000", v)
	}
	p.Effect = fmt.Sprintf("audit file rotated at %d KiB (audit.max_size = %d bytes)", n, n<<10)
	return m.set(p, "audit.max_size", n<<10)
}

// isklmEventTypes maps the seed's Audit.event.types names onto keywarden's
// event types.
var isklmEventTypes = map[string][]string{
	"authentication":          {"auth"},
	"authorization":           {"auth"},
	"authorization_terminate": {"auth"},
	"runtime":                 {"key", "query"},
	"key_management":          {"key", "lifecycle"},
	"resource_management":     {"device"},
	"data_synchronization":    {"config"},
	"audit_management":        {"config"},
	"server_management":       {"server"},
}

func (m *mapper) auditTypes(p *Property, v string) error {
	if v == "" || strings.EqualFold(v, "all") {
		p.Effect = "every event type recorded (audit.types = all)"
		p.carried = true
		return nil
	}
	var out []string
	for _, t := range strings.Split(v, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		mapped, ok := isklmEventTypes[t]
		if !ok {
			if k := lookup("audit.types"); slices.Contains(k.allowed, t) {
				mapped = []string{t}
			} else {
				names := make([]string, 0, len(isklmEventTypes))
				for n := range isklmEventTypes {
					names = append(names, n)
				}
				slices.Sort(names)
				return fmt.Errorf("event type %q: want all or some of %s", t, strings.Join(names, ", "))
			}
		}
		for _, x := range mapped {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	p.Effect = "audit.types = " + strings.Join(out, ", ")
	return m.set(p, "audit.types", out)
}

func (m *mapper) auditOutcomes(p *Property, v string) error {
	if v == "" || strings.EqualFold(v, "all") {
		p.Effect = "every outcome recorded"
		p.carried = true
		return nil
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		switch o = strings.ToLower(strings.TrimSpace(o)); o {
		case "success":
			out = append(out, "success")
		case "failure":
			out = append(out, "failure", "denied") // the seed counts denials as failures
		default:
			return fmt.Errorf("outcome %q: want success, failure or both", o)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	p.Effect = "audit.outcomes = " + strings.Join(out, ", ")
	return m.set(p, "audit.outcomes", out)
}

func (m *mapper) auditQueue(p *Property, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q: want a whole number ≥ 0", v)
	}
	if n == 0 {
		p.Effect = "each audit record is written before the request is answered (audit.queue_max = 0)"
	} else {
		p.Effect = fmt.Sprintf("up to %d audit records queued (audit.queue_max)", n)
	}
	return m.set(p, "audit.queue_max", n)
}

func (m *mapper) metadataFile(p *Property, v string) error {
	path := fileURL(v)
	p.Effect = "metadata file " + path + ": usage records are kept in keywarden's store; keywarden migrate imports this file"
	m.warn(p, "serve does not read or write the metadata file "+path+": key-usage records are kept in keywarden's store (keywarden usage); import the file once with keywarden migrate")
	return m.set(p, "usage.metadata_file", path)
}

func (m *mapper) cacheCount(p *Property, v string) error {
	p.Effect = "ignored: usage records are written to the store as they happen (no cache)"
	if v != "0" {
		m.warn(p, "not used: usage records are written to the store as they happen, without a cache")
	}
	return nil
}

func parseJavaBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q: want true or false", v)
}

func (m *mapper) acceptUnknown(p *Property, v string) error {
	b, err := parseJavaBool(v)
	if err != nil {
		return err
	}
	if m.accept == nil {
		m.accept, m.acceptLine = map[string]bool{}, map[string]int{}
	}
	m.accept[p.Name], m.acceptLine[p.Name] = b, p.Line
	if !slices.Contains(m.propsOfAcceptUnknown, p.Name) {
		m.propsOfAcceptUnknown = append(m.propsOfAcceptUnknown, p.Name)
	}
	if b {
		p.Effect = "unknown drives are accepted into the device group \"default\" (devices.unknown = accept)"
	} else {
		p.Effect = "unknown drives are refused (devices.unknown = reject)"
	}
	return nil
}

func (m *mapper) keySet(p *Property, v string) error {
	p.Effect = fmt.Sprintf("LTO key group %q with the aliases %s, created at serve start if missing, served to the group \"default\" (drive.key_set)", DefaultKeyGroupName, v)
	if err := m.set(p, "drive.key_set", v); err != nil {
		return err
	}
	return m.set(p, "drive.key_group", DefaultKeyGroupName)
}

func (m *mapper) fips(p *Property, v string) error {
	b, err := parseJavaBool(v)
	if err != nil {
		return err
	}
	if b {
		p.Effect = "FIPS 140-3 mode (fips = true)"
	} else {
		p.Effect = "FIPS mode off (fips = false)"
	}
	return m.set(p, "fips", b)
}

func (m *mapper) debug(p *Property, v string) error {
	if v == "" || strings.EqualFold(v, "none") || strings.EqualFold(v, "off") {
		p.Effect = "log_level = info"
		return m.set(p, "log_level", "info")
	}
	p.Effect = "log_level = debug (keywarden has no per-component debug switches)"
	return m.set(p, "log_level", "debug")
}

func (m *mapper) keystoreFile(p *Property, v string) error {
	if isSAFKeyring(v) {
		p.Effect = "ignored: keywarden keeps its keys in its own keystore, sealed under the master key"
		m.warn(p, "a RACF key ring (safkeyring://) cannot be read off z/OS: keywarden keeps its keys in its own keystore in DATA_DIR, sealed under the master key; create the labels there or import an exported keystore with keywarden migrate")
		return nil
	}
	path := fileURL(v)
	p.Effect = "keystore " + path + ": imported by keywarden migrate, not read by serve"
	m.warn(p, "serve does not read the keystore "+path+": import it once with keywarden migrate")
	return nil
}

func (m *mapper) keystoreType(p *Property, v string) error {
	switch strings.ToUpper(v) {
	case "JKS", "JCEKS", "PKCS12":
		p.Effect = "keystore format for keywarden migrate"
		return nil
	case "JCECCARACFKS", "JCERACFKS", "JCECCAKS", "JCE4758RACFKS", "JCE4758KS":
		p.Effect = "ignored: keywarden keeps its keys in its own keystore"
		m.warn(p, v+" is a z/OS RACF or ICSF keystore, which cannot be read off z/OS: keywarden keeps its keys in its own keystore, sealed under the master key (in an HSM with keywarden init --seal pkcs11)")
		return nil
	}
	p.Effect = "ignored"
	m.warn(p, fmt.Sprintf("keystore type %q is not known to keywarden: keywarden migrate reads JKS, JCEKS and PKCS12 exports", v))
	return nil
}

func (m *mapper) keystoreProvider(p *Property, v string) error {
	p.Effect = "ignored: keywarden uses Go's cryptography (FIPS 140-3 module with fips = true)"
	if strings.Contains(strings.ToUpper(v), "CCA") || strings.Contains(strings.ToUpper(v), "4758") {
		m.warn(p, v+" is IBM's ICSF hardware provider: keywarden uses Go's cryptography in software; its master key can be in an HSM (keywarden init --seal pkcs11)")
	}
	return nil
}

func (m *mapper) requireHSM(p *Property, v string) error {
	b, err := parseJavaBool(v)
	if err != nil {
		return err
	}
	if !b {
		p.Effect = "require_hsm = false"
		return m.set(p, "require_hsm", false)
	}
	p.Effect = "require_hsm = true: the server warns at start when its master key is not in an HSM"
	m.warn(p, "keys are protected in software unless the master key is in an HSM (keywarden init --seal pkcs11): without one, serve warns and still starts")
	return m.set(p, "require_hsm", true)
}
