package devices

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestKMIPUsers(t *testing.T) {
	ctx := context.Background()
	r, env := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: FamilyGeneric})
	const password = "same-password-for-both-0c1d"
	if _, err := r.AddKMIPUser(ctx, "Fred", []byte(password), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddKMIPUser(ctx, "Barney", []byte(password), "tapes"); err != nil {
		t.Fatal(err)
	}

	t.Run("refusals on add", func(t *testing.T) {
		cases := []struct {
			name, user, password, group string
			want                        error
		}{
			{"duplicate", "Fred", "x", "", ErrExists},
			{"empty name", "", "x", "", ErrInvalid},
			{"space in name", "Fred Flintstone", "x", "", ErrInvalid},
			{"empty password", "Wilma", "", "", ErrInvalid},
			{"unknown group", "Wilma", "x", "nosuch", ErrNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := r.AddKMIPUser(ctx, tc.user, []byte(tc.password), tc.group)
				wantErr(t, err, tc.want)
			})
		}
	})
	t.Run("verify", func(t *testing.T) {
		cases := []struct {
			name, user, password string
			want                 error
		}{
			{"right password", "Fred", password, nil},
			{"wrong password", "Fred", password + "x", ErrBadCredential},
			{"name is case-sensitive", "fred", password, ErrBadCredential},
			{"unknown user", "Dino", password, ErrBadCredential},
			{"empty password", "Fred", "", ErrBadCredential},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				u, err := r.VerifyKMIPUser(ctx, tc.user, []byte(tc.password))
				wantErr(t, err, tc.want)
				if err == nil && (u.Name != "Fred" || u.Group != DefaultGroup) {
					t.Fatalf("verified user %+v", u)
				}
				if err != nil && bytes.Contains([]byte(err.Error()), []byte(password)) {
					t.Fatalf("error holds the password: %v", err)
				}
			})
		}
	})
	t.Run("per-user salt, no password at rest", func(t *testing.T) {
		var recs []kmipUserRecord
		if err := r.read(func(v view) (err error) { recs, err = scan[kmipUserRecord](v, bucketKMIPUsers); return err }); err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || bytes.Equal(recs[0].Salt, recs[1].Salt) || bytes.Equal(recs[0].Hash, recs[1].Hash) {
			t.Fatalf("two users with one password share a salt or hash: %+v", recs)
		}
		raw, err := os.ReadFile(filepath.Join(env.dir, "keywarden.db"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{password, "Fred", "Barney"} {
			if bytes.Contains(raw, []byte(s)) {
				t.Fatalf("the store file holds %q in the clear", s)
			}
		}
	})
	t.Run("list and remove", func(t *testing.T) {
		users, err := r.KMIPUsers()
		if err != nil || len(users) != 2 || users[0].Name != "Barney" || users[0].Group != "tapes" || users[1].Name != "Fred" {
			t.Fatalf("KMIPUsers = %+v, %v", users, err)
		}
		wantErr(t, r.RemoveKMIPUser(ctx, "Barney"), nil)
		wantErr(t, r.RemoveKMIPUser(ctx, "Barney"), ErrNotFound)
		_, err = r.VerifyKMIPUser(ctx, "Barney", []byte(password))
		wantErr(t, err, ErrBadCredential)
	})
}

func TestNarrowing(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "tapes", Family: FamilyGeneric, AllowedOps: []string{"Get", "Locate"}})
	if _, err := r.AddKMIPUser(ctx, "Wilma", []byte("pw"), "tapes"); err != nil {
		t.Fatal(err)
	}
	active := mustDevice(t, r, Device{Family: FamilyGeneric, Serial: "SER-A", Group: "tapes", State: StateActive})
	mustDevice(t, r, Device{Family: FamilyLTO, Serial: "SER-P", Group: DefaultGroup, State: StatePending})
	admin := Principal{Kind: KindAdmin, Name: "admin", Fingerprint: "fp", Group: DefaultGroup, AllGroups: true}
	auditor := Principal{Kind: KindAuditor, Name: "aud", Group: DefaultGroup, AllGroups: true, ReadOnly: true}
	device := Principal{Kind: KindDevice, Name: "drive", Group: "tapes", AllowedOps: []string{"Get", "Destroy"}}

	t.Run("user", func(t *testing.T) {
		p, err := r.NarrowToUser(ctx, admin, "Wilma", []byte("pw"))
		wantErr(t, err, nil)
		if p.Kind != KindUser || p.Name != "Wilma" || p.Group != "tapes" || p.AllGroups || p.Owner != "user:Wilma" || p.Fingerprint != "fp" {
			t.Fatalf("principal %+v", p)
		}
		if p, _ = r.NarrowToUser(ctx, auditor, "Wilma", []byte("pw")); !p.ReadOnly {
			t.Fatal("a read-only certificate's user may write")
		}
		p, err = r.NarrowToUser(ctx, device, "Wilma", []byte("pw"))
		wantErr(t, err, nil)
		if len(p.AllowedOps) != 1 || p.AllowedOps[0] != "Get" {
			t.Fatalf("operation limits %v, want the intersection [Get]", p.AllowedOps)
		}
		other := Principal{Kind: KindDevice, Group: DefaultGroup}
		_, err = r.NarrowToUser(ctx, other, "Wilma", []byte("pw"))
		wantErr(t, err, ErrBadCredential)
	})
	t.Run("device", func(t *testing.T) {
		p, err := r.NarrowToDevice(ctx, admin, " SER-A ")
		wantErr(t, err, nil)
		if p.Kind != KindDevice || p.DeviceID != active.ID || p.Owner != "device:"+active.ID || p.Group != "tapes" || p.AllGroups {
			t.Fatalf("principal %+v", p)
		}
		_, err = r.NarrowToDevice(ctx, admin, "SER-P")
		wantErr(t, err, ErrBadCredential)
		_, err = r.NarrowToDevice(ctx, admin, "SER-NONE")
		wantErr(t, err, ErrBadCredential)
		if _, err := r.DeviceBySerial(FamilyGeneric, "SER-NONE"); !isNotFound(err) {
			t.Fatalf("an unknown serial was discovered: %v", err)
		}
	})
	t.Run("no common operation allows none", func(t *testing.T) {
		got := intersectOps([]string{"Destroy"}, []string{"Get"})
		if len(got) != 1 || got[0] == "Destroy" || got[0] == "Get" {
			t.Fatalf("intersectOps = %v", got)
		}
	})
}
