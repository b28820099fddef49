package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKMIPUserCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dir)
	env := adminEnv(srv, dir)
	const password = "kmip-user-cli-password-7f3a"
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var added map[string]any
	decodeJSON(t, mustRun(t, env, "kmip-user", "add", "Fred", "--password-file", pwFile, "-o", "json"), &added)
	if added["name"] != "Fred" || added["group"] != "default" {
		t.Fatalf("kmip-user add printed %v", added)
	}
	if _, ok := added["password"]; ok {
		t.Fatalf("kmip-user add printed a password field: %v", added)
	}
	mustRun(t, env, "kmip-user", "add", "Barney", "--password-file", pwFile, "--group", "default")

	var list []map[string]any
	decodeJSON(t, mustRun(t, env, "kmip-user", "list", "-o", "json"), &list)
	if len(list) != 2 || list[0]["name"] != "Barney" || list[1]["name"] != "Fred" {
		t.Fatalf("kmip-user list: %v", list)
	}
	if table := mustRun(t, env, "kmip-user", "list"); !strings.Contains(table, "Fred") || !strings.Contains(table, "GROUP") {
		t.Fatalf("kmip-user list table:\n%s", table)
	}
	mustRun(t, env, "kmip-user", "remove", "Barney")
	decodeJSON(t, mustRun(t, env, "kmip-user", "list", "-o", "json"), &list)
	if len(list) != 1 || list[0]["name"] != "Fred" {
		t.Fatalf("kmip-user list after remove: %v", list)
	}

	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"duplicate", []string{"kmip-user", "add", "Fred", "--password-file", pwFile}, "exists"},
		{"no password file", []string{"kmip-user", "add", "Wilma"}, "password-file"},
		{"empty password", []string{"kmip-user", "add", "Wilma", "--password-file", emptyFile}, "empty"},
		{"unknown group", []string{"kmip-user", "add", "Wilma", "--password-file", pwFile, "--group", "nosuch"}, "not found"},
		{"bad name", []string{"kmip-user", "add", "two words", "--password-file", pwFile}, "user name"},
		{"remove missing", []string{"kmip-user", "remove", "nosuch"}, "not found"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runEnv(t, env, tc.args...)
			if code == 0 || !strings.Contains(strings.ToLower(stderr), tc.want) {
				t.Fatalf("exit %d, stderr %q; want a refusal naming %q", code, stderr, tc.want)
			}
		})
	}

	t.Run("password nowhere in the clear", func(t *testing.T) {
		if strings.Contains(srv.stderr.String(), password) {
			t.Fatal("the server log holds the password")
		}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(password)) {
				t.Errorf("%s holds the password in the clear", path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
