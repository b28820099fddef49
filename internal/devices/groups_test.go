package devices

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNewCreatesDefaultGroup(t *testing.T) {
	r, _ := newRegistry(t, Options{DefaultPolicy: PolicyReject})
	g, err := r.Group(DefaultGroup)
	if err != nil {
		t.Fatal(err)
	}
	if g.Family != FamilyGeneric || g.Unknown != PolicyReject || g.Created.IsZero() {
		t.Fatalf("default group = %+v", g)
	}
	if _, err := New(context.Background(), Options{}); err == nil {
		t.Fatal("New without store and barrier succeeded")
	}
}

func TestDefaultPolicyIsPending(t *testing.T) {
	r, _ := newRegistry(t, Options{})
	g, err := r.Group(DefaultGroup)
	if err != nil {
		t.Fatal(err)
	}
	if g.Unknown != PolicyPending {
		t.Fatalf("default policy = %q, want pending", g.Unknown)
	}
	created := mustGroup(t, r, Group{Name: "tapes", Family: Family3592})
	if created.Unknown != PolicyPending {
		t.Fatalf("new group policy = %q, want pending", created.Unknown)
	}
}

func TestCreateGroup(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	g, err := r.CreateGroup(ctx, Group{Name: "Tapes", Family: "3592", Alias1: "cert1", Alias2: "cert2",
		Unknown: "accept", AllowedOps: []string{"get", "locate"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Family != Family3592 || g.Unknown != PolicyAccept || !slices.Equal(g.AllowedOps, []string{"Get", "Locate"}) {
		t.Fatalf("created %+v", g)
	}
	got, err := r.Group("tapes") // any case
	if err != nil || got.Name != "Tapes" || got.Alias1 != "cert1" {
		t.Fatalf("Group(tapes) = %+v, %v", got, err)
	}
	tests := []struct {
		name    string
		g       Group
		want    error
		wantMsg string
	}{
		{name: "duplicate", g: Group{Name: "Tapes", Family: "LTO"}, want: ErrExists, wantMsg: `group "Tapes" already exists`},
		{name: "duplicate other case", g: Group{Name: "TAPES", Family: "LTO"}, want: ErrExists},
		{name: "duplicate default", g: Group{Name: "Default", Family: "GENERIC"}, want: ErrExists},
		{name: "bad name", g: Group{Name: "1abc", Family: "LTO"}, want: ErrInvalid, wantMsg: "must start with a letter"},
		{name: "reserved name", g: Group{Name: "DS8K", Family: "DS8K"}, want: ErrInvalid, wantMsg: "reserved"},
		{name: "bad family", g: Group{Name: "x", Family: "3590"}, want: ErrInvalid, wantMsg: "must be one of"},
		{name: "no family", g: Group{Name: "x"}, want: ErrInvalid, wantMsg: "family is required"},
		{name: "bad policy", g: Group{Name: "x", Family: "LTO", Unknown: "sometimes"}, want: ErrInvalid, wantMsg: "must be reject, accept or pending"},
		{name: "bad operation", g: Group{Name: "x", Family: "LTO", AllowedOps: []string{"Steal"}}, want: ErrInvalid, wantMsg: "Steal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.CreateGroup(ctx, tt.g)
			wantErr(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
	groups, err := r.Groups()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups {
		names = append(names, g.Name)
	}
	if want := []string{"default", "Tapes"}; !slices.Equal(names, want) {
		t.Fatalf("Groups() = %v, want %v", names, want)
	}
}

func TestModifyGroup(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "lib", Family: FamilyGeneric})
	mustDevice(t, r, Device{Family: FamilyLTO, Serial: "L1", Group: "lib"})

	g, err := r.ModifyGroup(ctx, "lib", func(g *Group) error {
		g.Alias1, g.Unknown = "a1", PolicyReject
		return nil
	})
	if err != nil || g.Alias1 != "a1" || g.Unknown != PolicyReject {
		t.Fatalf("modify = %+v, %v", g, err)
	}
	_, err = r.ModifyGroup(ctx, "lib", func(g *Group) error { g.Name = "lib2"; return nil })
	wantErr(t, err, ErrInvalid)

	// The LTO device does not fit family 3592; it fits LTO.
	_, err = r.ModifyGroup(ctx, "lib", func(g *Group) error { g.Family = Family3592; return nil })
	wantErr(t, err, ErrInvalid)
	if !strings.Contains(err.Error(), "cannot become 3592") {
		t.Fatalf("message %q", err)
	}
	if g, err = r.ModifyGroup(ctx, "lib", func(g *Group) error { g.Family = FamilyLTO; return nil }); err != nil || g.Family != FamilyLTO {
		t.Fatalf("family LTO: %+v, %v", g, err)
	}

	sentinel := errors.New("caller says no")
	_, err = r.ModifyGroup(ctx, "lib", func(*Group) error { return sentinel })
	wantErr(t, err, sentinel)
	_, err = r.ModifyGroup(ctx, "nosuch", func(*Group) error { return nil })
	wantErr(t, err, ErrNotFound)
}

func TestDeleteGroup(t *testing.T) {
	ctx := context.Background()
	r, _ := newRegistry(t, Options{})
	mustGroup(t, r, Group{Name: "lib", Family: FamilyLTO})
	d := mustDevice(t, r, Device{Family: FamilyLTO, Serial: "L1", Group: "lib"})

	err := r.DeleteGroup(ctx, "lib")
	wantErr(t, err, ErrGroupInUse)
	if !strings.Contains(err.Error(), d.ID) {
		t.Fatalf("message %q does not name the device", err)
	}
	wantErr(t, r.DeleteGroup(ctx, "default"), ErrInvalid)
	wantErr(t, r.DeleteGroup(ctx, "DEFAULT"), ErrInvalid)
	wantErr(t, r.DeleteGroup(ctx, "nosuch"), ErrNotFound)

	if _, err := r.ModifyDevice(ctx, d.ID, func(d *Device) error { d.Group = DefaultGroup; return nil }); err != nil {
		t.Fatal(err)
	}
	wantErr(t, r.DeleteGroup(ctx, "lib"), nil)
	_, err = r.Group("lib")
	wantErr(t, err, ErrNotFound)
	// The name is free again.
	mustGroup(t, r, Group{Name: "lib", Family: Family3592})
}
