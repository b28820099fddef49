package admin_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/testenv"
)

func TestKeyGroups(t *testing.T) {
	env := testenv.Start(t)
	a := call(t, env, env.AdminTLS, "POST", "/v1/keygroups", map[string]any{"name": "lto1", "aliases": "des01-03"})
	mustStatus(t, a, http.StatusCreated, "create")
	var created admin.KeyGroup
	a.decode(t, &created)
	if created.Name != "lto1" || len(created.Keys) != 3 || created.Keys[0].Alias != "des01" || created.Keys[2].State != "Active" {
		t.Fatalf("created %+v", created)
	}
	if bytes.Contains(a.body, []byte("material")) {
		t.Fatalf("answer mentions key material: %s", a.body)
	}

	a = call(t, env, env.AdminTLS, "GET", "/v1/keygroups/lto1", nil)
	mustStatus(t, a, http.StatusOK, "show")
	var shown admin.KeyGroup
	a.decode(t, &shown)
	if shown.Name != "lto1" || len(shown.Keys) != 3 || shown.Keys[1].ObjectID != created.Keys[1].ObjectID {
		t.Fatalf("shown %+v", shown)
	}

	a = call(t, env, env.AdminTLS, "GET", "/v1/keygroups", nil)
	mustStatus(t, a, http.StatusOK, "list")
	var list []admin.KeyGroup
	a.decode(t, &list)
	if len(list) != 1 || list[0].Name != "lto1" || len(list[0].Keys) != 3 {
		t.Fatalf("list %+v", list)
	}

	refusals := []struct {
		name, method, path string
		body               any
		status             int
		slug               string
	}{
		{"duplicate group", "POST", "/v1/keygroups", map[string]any{"name": "lto1", "aliases": "x1"}, http.StatusConflict, "exists"},
		{"duplicate alias", "POST", "/v1/keygroups", map[string]any{"name": "lto2", "aliases": "des02"}, http.StatusConflict, "exists"},
		{"bad range", "POST", "/v1/keygroups", map[string]any{"name": "lto2", "aliases": "des09-01"}, http.StatusBadRequest, "invalid"},
		{"unknown field", "POST", "/v1/keygroups", map[string]any{"name": "lto2", "aliases": "a1", "key": "x"}, http.StatusBadRequest, "invalid"},
		{"missing", "GET", "/v1/keygroups/nosuch", nil, http.StatusNotFound, "not-found"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, env, env.AdminTLS, tc.method, tc.path, tc.body)
			mustStatus(t, a, tc.status, tc.name)
			if p := a.problem(t); p.Type != "urn:keywarden:problem:"+tc.slug {
				t.Fatalf("problem %+v", p)
			}
		})
	}
}
