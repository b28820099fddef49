package migrate

import (
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/eedk"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// Request is the body of POST /v1/import: a bundle, the conflict policy
// and whether to only plan.
type Request struct {
	Bundle     Bundle     `json:"bundle"`
	OnConflict OnConflict `json:"on_conflict"`
	DryRun     bool       `json:"dry_run"`
}

// Report is the answer of POST /v1/import: the plan, and the summary when
// it was applied. It never holds key material.
type Report struct {
	Items    []ReportItem `json:"items"`
	Warnings []string     `json:"warnings,omitempty"`
	// Applied is false for a dry run.
	Applied bool     `json:"applied"`
	Summary *Summary `json:"summary,omitempty"`
	// Error says why nothing (or, with "left on the server", not all)
	// was migrated.
	Error string `json:"error,omitempty"`
}

// ReportItem is one item of a plan.
type ReportItem struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Verb   Verb   `json:"verb"`
	Detail string `json:"detail,omitempty"`
}

// Report returns the plan's items for the answer.
func (p *Plan) Report() Report {
	r := Report{Warnings: p.Warnings, Items: make([]ReportItem, 0, len(p.Items))}
	for _, it := range p.Items {
		r.Items = append(r.Items, ReportItem{Kind: it.Kind, Name: it.Name, Verb: it.Verb, Detail: it.Detail})
	}
	return r
}

// UsageEvent is a metadata event in JSON.
type UsageEvent struct {
	DriveSSN  string    `json:"drive_ssn"`
	VolSer    string    `json:"volser"`
	DriveWWN  string    `json:"drive_wwn,omitempty"`
	KeyAlias1 string    `json:"key_alias1,omitempty"`
	KeyAlias2 string    `json:"key_alias2,omitempty"`
	Time      time.Time `json:"time"`
}

// Wire returns b ready for JSON: Usage copied into UsageEvents.
func (b *Bundle) Wire() *Bundle {
	out := *b
	out.UsageEvents = make([]UsageEvent, 0, len(b.Usage))
	for _, e := range b.Usage {
		out.UsageEvents = append(out.UsageEvents, UsageEvent{DriveSSN: e.DriveSSN, VolSer: e.VolSer, DriveWWN: e.DriveWWN,
			KeyAlias1: e.KeyAlias1, KeyAlias2: e.KeyAlias2, Time: e.Time})
	}
	out.Usage = nil
	return &out
}

// Validate checks a bundle received over the wire and recomputes what the
// sender cannot be trusted with: each label's key hash and size from its
// certificate, that its private key matches, the key groups' aliases, the
// drives' fields and the usage events (which it moves into Usage).
func (b *Bundle) Validate() error {
	if b.Group == "" {
		b.Group = "ekm"
	}
	if err := devices.ValidateGroupName(b.Group); err != nil {
		return fmt.Errorf("%w: group: %v", ErrSource, err)
	}
	for i := range b.Labels {
		if err := b.Labels[i].validate(); err != nil {
			return fmt.Errorf("%w: label %q: %v", ErrSource, b.Labels[i].Name, err)
		}
	}
	serials := map[string]bool{}
	for _, d := range b.Drives {
		if err := checkDrive(d); err != nil {
			return fmt.Errorf("%w: drive %s: %v", ErrSource, d.Serial, err)
		}
		if serials[d.Family+"/"+d.Serial] {
			return fmt.Errorf("%w: drive %s given twice", ErrSource, d.Serial)
		}
		serials[d.Family+"/"+d.Serial] = true
	}
	gs, err := checkKeyGroups(b.KeyGroups)
	if err != nil {
		return err
	}
	b.KeyGroups = gs
	if len(b.UsageEvents) > seedxml.DefaultMaxEvents {
		return fmt.Errorf("%w: more than %d usage events", ErrSource, seedxml.DefaultMaxEvents)
	}
	b.Usage = make([]seedxml.Event, 0, len(b.UsageEvents))
	for i, e := range b.UsageEvents {
		if e.VolSer == "" || e.Time.IsZero() {
			return fmt.Errorf("%w: usage event %d: a volser and a time are required", ErrSource, i+1)
		}
		if y := e.Time.UTC().Year(); y < 1 || y > 9999 {
			return fmt.Errorf("%w: usage event %d: year %d: want 1 to 9999", ErrSource, i+1, y)
		}
		for _, f := range []string{e.DriveSSN, e.VolSer, e.DriveWWN, e.KeyAlias1, e.KeyAlias2} {
			if len(f) > seedxml.MaxValueBytes {
				return fmt.Errorf("%w: usage event %d: a value longer than %d bytes", ErrSource, i+1, seedxml.MaxValueBytes)
			}
		}
		b.Usage = append(b.Usage, seedxml.Event{DriveSSN: e.DriveSSN, VolSer: e.VolSer, DriveWWN: e.DriveWWN,
			KeyAlias1: e.KeyAlias1, KeyAlias2: e.KeyAlias2, Time: e.Time.UTC().Truncate(time.Second)})
	}
	b.UsageEvents = nil
	return nil
}

// validate parses a label's certificate (and key) and recomputes its hash.
func (l *Label) validate() error {
	if err := labels.ValidateName(l.Name); err != nil {
		return err
	}
	blk, _ := pem.Decode([]byte(l.CertPEM))
	if blk == nil || blk.Type != "CERTIFICATE" {
		return fmt.Errorf("cert_pem is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return fmt.Errorf("certificate: %v", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("the certificate's key is not RSA")
	}
	if l.KeyHash, err = eedk.KeyHash(pub); err != nil {
		return err
	}
	l.Bits = pub.N.BitLen()
	if l.Bits < labels.MinBits || l.Bits > labels.MaxBits {
		return fmt.Errorf("RSA key of %d bits: want %d to %d", l.Bits, labels.MinBits, labels.MaxBits)
	}
	if l.Bits < labels.FIPSMinBits && fips140.Enabled() {
		return fmt.Errorf("RSA key of %d bits: FIPS mode allows %d bits or more; rekey its volumes on the old server",
			l.Bits, labels.FIPSMinBits)
	}
	if l.KeyPEM == "" {
		return nil
	}
	kb, _ := pem.Decode([]byte(l.KeyPEM))
	if kb == nil {
		return fmt.Errorf("key_pem is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return fmt.Errorf("private key: not PKCS#8")
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !pub.Equal(signer.Public()) {
		return fmt.Errorf("the private key does not match the certificate")
	}
	return nil
}
