package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyGroupCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)

	var created map[string]any
	decodeJSON(t, mustRun(t, env, "keygroup", "create", "ltokeys", "--aliases", "des01-1f", "-o", "json"), &created)
	keys, _ := created["keys"].([]any)
	if created["name"] != "ltokeys" || len(keys) != 31 {
		t.Fatalf("keygroup create printed %v", created)
	}
	if first, _ := keys[0].(map[string]any); first["alias"] != "des01" || first["state"] != "Active" {
		t.Fatalf("first key %v", keys[0])
	}

	var list []map[string]any
	decodeJSON(t, mustRun(t, env, "keygroup", "list", "-o", "json"), &list)
	if len(list) != 1 || list[0]["name"] != "ltokeys" {
		t.Fatalf("keygroup list: %v", list)
	}
	if table := mustRun(t, env, "keygroup", "list"); !strings.Contains(table, "ltokeys") || !strings.Contains(table, "des1f") {
		t.Fatalf("keygroup list table:\n%s", table)
	}
	if shown := mustRun(t, env, "keygroup", "show", "ltokeys"); !strings.Contains(shown, "des0a") {
		t.Fatalf("keygroup show:\n%s", shown)
	}

	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"duplicate", []string{"keygroup", "create", "ltokeys", "--aliases", "x1"}, "exists"},
		{"alias taken", []string{"keygroup", "create", "other", "--aliases", "des05"}, "exists"},
		{"bad range", []string{"keygroup", "create", "other", "--aliases", "des09-01"}, "alias"},
		{"no aliases", []string{"keygroup", "create", "other"}, "aliases"},
		{"missing", []string{"keygroup", "show", "nosuch"}, "not found"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runEnv(t, env, tc.args...)
			if code == 0 || !strings.Contains(strings.ToLower(stderr), tc.want) {
				t.Fatalf("exit %d, stderr %q; want a refusal naming %q", code, stderr, tc.want)
			}
		})
	}
}
