package interop

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"

	"github.com/keywarden/keywarden/internal/testenv"
)

// pkiFile returns the path of a file the server wrote under DataDir/pki.
func pkiFile(env *testenv.Env, name string) string {
	return filepath.Join(env.DataDir, "pki", name)
}

// dialAdmin connects ovh's kmipclient to env's KMIP listener the way a
// third-party deployment would: from the PEM files on disk (CA, admin
// certificate and key) with the client library's own TLS defaults, not
// with testenv's TLS configuration. With no version given, the client
// negotiates with Discover Versions.
func dialAdmin(t testing.TB, env *testenv.Env, version ...kmip.ProtocolVersion) *kmipclient.Client {
	t.Helper()
	opts := []kmipclient.Option{
		kmipclient.WithRootCAFile(pkiFile(env, "ca.pem")),
		kmipclient.WithClientCertFiles(pkiFile(env, "admin.pem"), pkiFile(env, "admin-key.pem")),
	}
	if len(version) > 0 {
		opts = append(opts, kmipclient.EnforceVersion(version[0]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kmipclient.DialContext(ctx, env.KMIPAddr, opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", env.KMIPAddr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// attrValues returns the values of every instance of the named attribute.
func attrValues(attrs []kmip.Attribute, name kmip.AttributeName) []any {
	var out []any
	for _, a := range attrs {
		if a.AttributeName == name {
			out = append(out, a.AttributeValue)
		}
	}
	return out
}

// oneAttr returns the single value of the named attribute, failing the
// test when it is absent or repeated.
func oneAttr(t testing.TB, attrs []kmip.Attribute, name kmip.AttributeName) any {
	t.Helper()
	vs := attrValues(attrs, name)
	if len(vs) != 1 {
		t.Fatalf("attribute %q: got %d values, want 1 (attributes: %v)", name, len(vs), attrNames(attrs))
	}
	return vs[0]
}

func attrNames(attrs []kmip.Attribute) []kmip.AttributeName {
	out := make([]kmip.AttributeName, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a.AttributeName)
	}
	return out
}

// hasName reports whether attrs hold a Name attribute with value v.
func hasName(attrs []kmip.Attribute, v string) bool {
	for _, a := range attrValues(attrs, kmip.AttributeNameName) {
		if n, ok := a.(kmip.Name); ok && n.NameValue == v {
			return true
		}
	}
	return false
}

// stateOf fetches the State attribute of id.
func stateOf(t testing.TB, c *kmipclient.Client, id string) kmip.State {
	t.Helper()
	resp, err := c.GetAttributes(id, kmip.AttributeNameState).Exec()
	if err != nil {
		t.Fatalf("get attributes State of %s: %v", id, err)
	}
	st, ok := oneAttr(t, resp.Attribute, kmip.AttributeNameState).(kmip.State)
	if !ok {
		t.Fatalf("State of %s has type %T", id, oneAttr(t, resp.Attribute, kmip.AttributeNameState))
	}
	return st
}
