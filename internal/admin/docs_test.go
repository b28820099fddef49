package admin_test

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/admin"
)

// TestOpenAPIMatchesRouteTable keeps docs/openapi.yaml honest: every route
// of the table is described with its roles, and nothing else is.
func TestOpenAPIMatchesRouteTable(t *testing.T) {
	f, err := os.Open("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		pathRe   = regexp.MustCompile(`^  (/\S*):$`)
		methodRe = regexp.MustCompile(`^    (get|post|patch|delete|put):$`)
		rolesRe  = regexp.MustCompile(`^      x-roles: \[(.*)\]$`)
		path, op string
		doc      = map[string][]string{}
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := pathRe.FindStringSubmatch(line); m != nil {
			path, op = m[1], ""
		} else if m := methodRe.FindStringSubmatch(line); m != nil && path != "" {
			op = strings.ToUpper(m[1]) + " " + path
			doc[op] = nil
		} else if m := rolesRe.FindStringSubmatch(line); m != nil && op != "" {
			for _, r := range strings.Split(m[1], ",") {
				doc[op] = append(doc[op], strings.TrimSpace(r))
			}
		} else if line != "" && !strings.HasPrefix(line, " ") {
			path, op = "", "" // a new top-level section
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, rt := range admin.Routes() {
		key := rt.Method + " " + rt.Pattern
		roles, ok := doc[key]
		if !ok {
			t.Errorf("openapi.yaml does not describe %s", key)
			continue
		}
		if !slices.Equal(roles, rt.Roles) {
			t.Errorf("openapi.yaml: %s x-roles %v, route table %v", key, roles, rt.Roles)
		}
		delete(doc, key)
	}
	for key := range doc {
		t.Errorf("openapi.yaml describes %s, which the route table does not serve", key)
	}
}
