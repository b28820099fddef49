package admin

import (
	"net/http"
	"time"

	"github.com/keywarden/keywarden/internal/devices"
)

// roleSet says who may call a route.
type roleSet uint8

const (
	allowAdmin roleSet = 1 << iota
	allowOperator
	allowAuditor
	// anyCertificate: any client certificate from the server's CA that is
	// not revoked (health checks and metrics); the role is not consulted.
	anyCertificate
)

// Role sets used by the table.
const (
	adminOnly  = allowAdmin
	operators  = allowAdmin | allowOperator
	everyone   = allowAdmin | allowOperator | allowAuditor
	anyClient  = anyCertificate
	noBody     = 0
	smallBody  = 4 << 10
	recordBody = 16 << 10
	pemBody    = 64 << 10
)

// Time limits.
const (
	quick = 5 * time.Second
	read  = 10 * time.Second
	write = 15 * time.Second
	scan  = 25 * time.Second // must stay below the listener's 30s write timeout
)

// route is one entry of the route table.
type route struct {
	method  string
	pattern string // a path in net/http.ServeMux syntax
	name    string // the operation: metrics label, log field, Route.Name
	roles   roleSet
	maxBody int64
	timeout time.Duration
	handle  func(h *Handler, w http.ResponseWriter, c *call) error
}

// routeTable is every route of the admin API with its limits. Nothing is
// served that is not listed here, and nothing listed is served before its
// roles, body limit and timeout are applied.
var routeTable = []route{
	{"GET", "/v1/health", "health", anyClient, noBody, quick, (*Handler).health},
	{"GET", "/healthz", "healthz", anyClient, noBody, quick, (*Handler).healthz},
	{"GET", "/readyz", "readyz", anyClient, noBody, quick, (*Handler).readyz},
	{"GET", "/metrics", "metrics", anyClient, noBody, read, (*Handler).metrics},

	{"GET", "/v1/status", "status", everyone, noBody, read, (*Handler).status},

	{"GET", "/v1/groups", "group.list", everyone, noBody, read, (*Handler).listGroups},
	{"POST", "/v1/groups", "group.create", operators, recordBody, write, (*Handler).createGroup},
	{"GET", "/v1/groups/{name}", "group.show", everyone, noBody, read, (*Handler).showGroup},
	{"PATCH", "/v1/groups/{name}", "group.modify", operators, recordBody, write, (*Handler).modifyGroup},
	{"DELETE", "/v1/groups/{name}", "group.delete", operators, noBody, write, (*Handler).deleteGroup},
	{"POST", "/v1/groups/{name}/rollover", "group.rollover", operators, smallBody, write, (*Handler).scheduleRollover},
	{"DELETE", "/v1/groups/{name}/rollover", "group.rollover-cancel", operators, noBody, write, (*Handler).cancelRollover},

	{"GET", "/v1/devices", "device.list", everyone, noBody, read, (*Handler).listDevices},
	{"POST", "/v1/devices", "device.add", operators, pemBody, write, (*Handler).addDevice},
	{"GET", "/v1/devices/{id}", "device.show", everyone, noBody, read, (*Handler).showDevice},
	{"PATCH", "/v1/devices/{id}", "device.modify", operators, pemBody, write, (*Handler).modifyDevice},
	{"DELETE", "/v1/devices/{id}", "device.delete", operators, noBody, write, (*Handler).deleteDevice},
	{"POST", "/v1/devices/{id}/approve", "device.approve", operators, noBody, write, (*Handler).approveDevice},
	{"POST", "/v1/devices/{id}/reject", "device.reject", operators, noBody, write, (*Handler).rejectDevice},

	{"GET", "/v1/kmip-users", "kmip-user.list", everyone, noBody, read, (*Handler).listKMIPUsers},
	{"POST", "/v1/kmip-users", "kmip-user.add", adminOnly, smallBody, write, (*Handler).addKMIPUser},
	{"DELETE", "/v1/kmip-users/{name}", "kmip-user.remove", adminOnly, noBody, write, (*Handler).removeKMIPUser},

	{"GET", "/v1/pending", "pending.list", everyone, noBody, read, (*Handler).listPending},
	{"POST", "/v1/pending/certs/{fp}/accept", "pending.accept", operators, smallBody, write, (*Handler).acceptCert},
	{"POST", "/v1/pending/certs/{fp}/reject", "pending.reject", operators, noBody, write, (*Handler).rejectCert},

	{"GET", "/v1/keys", "key.list", everyone, noBody, scan, (*Handler).listKeys},
	{"GET", "/v1/keys/{id}", "key.show", everyone, noBody, read, (*Handler).showKey},
	{"POST", "/v1/keys/{id}/destroy", "key.destroy", adminOnly, noBody, write, (*Handler).destroyKey},

	{"GET", "/v1/certs", "cert.list", everyone, noBody, read, (*Handler).listRevoked},
	{"POST", "/v1/certs/revoke", "cert.revoke", adminOnly, pemBody, write, (*Handler).revokeCert},
	{"POST", "/v1/certs/issue", "cert.issue", adminOnly, smallBody, write, (*Handler).issueCert},

	{"GET", "/v1/labels", "label.list", everyone, noBody, scan, (*Handler).listLabels},
	{"POST", "/v1/labels", "label.create", adminOnly, smallBody, write, (*Handler).createLabel},
	{"POST", "/v1/labels/import", "label.import", adminOnly, pemBody, write, (*Handler).importLabel},
	{"POST", "/v1/labels/export-bundle", "label.export-bundle", adminOnly, pemBody, scan, (*Handler).exportLabelBundle},
	{"POST", "/v1/labels/import-bundle", "label.import-bundle", adminOnly, bundleBody, scan, (*Handler).importLabelBundle},
	{"GET", "/v1/labels/{name}", "label.show", everyone, noBody, read, (*Handler).showLabel},
	{"GET", "/v1/labels/{name}/cert", "label.cert", everyone, noBody, read, (*Handler).labelCert},
	{"POST", "/v1/labels/{name}/export-key", "label.export-key", adminOnly, smallBody, write, (*Handler).exportLabelKey},

	{"GET", "/v1/keygroups", "keygroup.list", everyone, noBody, scan, (*Handler).listKeyGroups},
	{"POST", "/v1/keygroups", "keygroup.create", adminOnly, recordBody, scan, (*Handler).createKeyGroup},
	{"GET", "/v1/keygroups/{name}", "keygroup.show", everyone, noBody, read, (*Handler).showKeyGroup},

	{"GET", "/v1/usage", "usage.list", everyone, noBody, scan, (*Handler).listUsage},
	{"GET", "/v1/usage/export", "usage.export", everyone, noBody, scan, (*Handler).exportUsage},
	{"POST", "/v1/usage/import", "usage.import", adminOnly, importBody, scan, (*Handler).importUsage},

	{"POST", "/v1/import", "migrate.import", adminOnly, migrateBody, scan, (*Handler).importBundle},

	{"GET", "/v1/keyring", "keyring.show", everyone, noBody, read, (*Handler).showKeyring},
	{"POST", "/v1/keyring/rotate", "keyring.rotate", adminOnly, noBody, write, (*Handler).rotateKeyring},
	{"POST", "/v1/masterkey/rotate", "masterkey.rotate", adminOnly, smallBody, scan, (*Handler).rotateMasterKey},

	{"GET", "/v1/cluster", "cluster.status", everyone, noBody, read, (*Handler).clusterStatus},
	{"POST", "/v1/cluster/join", "cluster.join", adminOnly, smallBody, scan, (*Handler).clusterJoin},
	{"POST", "/v1/cluster/leave", "cluster.leave", adminOnly, smallBody, scan, (*Handler).clusterLeave},

	{"GET", "/v1/audit", "audit.search", auditReaders, noBody, scan, (*Handler).searchAudit},
	{"POST", "/v1/audit/verify", "audit.verify", auditReaders, noBody, scan, (*Handler).verifyAudit},

	{"POST", "/v1/backup", "backup", adminOnly, smallBody, backupTimeout, (*Handler).backup},
}

// allows reports whether a principal of kind may call a route with roles.
func (s roleSet) allows(kind devices.PrincipalKind) bool {
	switch kind {
	case devices.KindAdmin:
		return s&allowAdmin != 0
	case devices.KindOperator:
		return s&allowOperator != 0
	case devices.KindAuditor:
		return s&allowAuditor != 0
	}
	return false
}

// names lists the roles of s, as Route.Roles reports them.
func (s roleSet) names() []string {
	if s&anyCertificate != 0 {
		return []string{"any"}
	}
	var out []string
	for _, r := range []struct {
		bit  roleSet
		name string
	}{{allowAdmin, "admin"}, {allowOperator, "operator"}, {allowAuditor, "auditor"}} {
		if s&r.bit != 0 {
			out = append(out, r.name)
		}
	}
	return out
}

// Route describes one route of the admin API.
type Route struct {
	// Method and Pattern select the route (Pattern in net/http.ServeMux
	// syntax, e.g. "/v1/devices/{id}").
	Method, Pattern string
	// Name is the operation, as in metrics and logs.
	Name string
	// Roles are the roles allowed: "admin", "operator", "auditor", or
	// "any" for any valid client certificate.
	Roles []string
	// MaxBody is the largest request body accepted, in bytes.
	MaxBody int64
	// Timeout bounds the request's processing.
	Timeout time.Duration
}

// Routes returns the route table.
func Routes() []Route {
	out := make([]Route, 0, len(routeTable))
	for _, rt := range routeTable {
		out = append(out, Route{
			Method: rt.method, Pattern: rt.pattern, Name: rt.name,
			Roles: rt.roles.names(), MaxBody: rt.maxBody, Timeout: rt.timeout,
		})
	}
	return out
}
