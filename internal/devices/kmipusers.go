package devices

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/keywarden/keywarden/internal/store"
)

// bucketKMIPUsers holds the KMIP users: blind(name) → kmipUserRecord.
const bucketKMIPUsers = "kmipusers"

// ErrBadCredential refuses a KMIP request credential: an unknown user, a
// wrong password, or a device the credential cannot name. The detail never
// carries the password.
var ErrBadCredential = errors.New("devices: credential not accepted")

// Bounds of a KMIP user.
const (
	maxUserName    = 128
	maxPasswordLen = 1024
)

// Argon2id cost of a KMIP user's password hash: OWASP's recommended
// setting for an online check (19 MiB, two passes, one lane), verified on
// a request's first use per connection.
var defaultUserKDF = userKDF{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

// userKDF is the Argon2id cost stored with each hash, so that a later
// default does not invalidate existing users.
type userKDF struct {
	Time      uint32 `json:"t"`
	MemoryKiB uint32 `json:"m"`
	Threads   uint8  `json:"p"`
}

// KMIPUser is a user a KMIP client names in a Username and Password
// credential. The password hash is never returned.
type KMIPUser struct {
	Name string `json:"name"`
	// Group receives the user's new objects; the user's objects are its
	// own within the group (keys.ErrNotOwner).
	Group   string    `json:"group"`
	Created time.Time `json:"created"`
}

// kmipUserRecord is the sealed record of a user.
type kmipUserRecord struct {
	KMIPUser
	KDF  userKDF `json:"kdf"`
	Salt []byte  `json:"salt"`
	Hash []byte  `json:"hash"`
}

// userKey is the blind index key of a user name (case-sensitive).
func (r *Registry) userKey(name string) []byte {
	return r.seal.IndexKey([]byte("devices/kmip-user"), []byte(name))
}

// verifySlots bounds concurrent Argon2id verifications (each takes the
// KDF's memory).
var verifySlots = make(chan struct{}, 4)

// hashPassword is Argon2id of password under salt with cost k.
func hashPassword(password, salt []byte, k userKDF) []byte {
	return argon2.IDKey(password, salt, k.Time, k.MemoryKiB, k.Threads, 32)
}

// ValidateKMIPUserName checks a user name: 1 to 128 characters, no
// control characters or spaces.
func ValidateKMIPUserName(name string) error {
	if name == "" {
		return invalidf("user name must not be empty")
	}
	return checkLabel("user name", name, maxUserName, false)
}

// AddKMIPUser creates a KMIP user with password (hashed with Argon2id and
// a fresh random salt) whose objects go to group ("default" when empty).
// The group must exist; an existing name is ErrExists.
func (r *Registry) AddKMIPUser(ctx context.Context, name string, password []byte, group string) (KMIPUser, error) {
	if err := ValidateKMIPUserName(name); err != nil {
		return KMIPUser{}, err
	}
	if len(password) == 0 || len(password) > maxPasswordLen {
		return KMIPUser{}, invalidf("password must be 1 to %d bytes", maxPasswordLen)
	}
	if group == "" {
		group = DefaultGroup
	}
	g, err := r.Group(group)
	if err != nil {
		return KMIPUser{}, err
	}
	rec := kmipUserRecord{KMIPUser: KMIPUser{Name: name, Group: g.Name, Created: r.clock()}, KDF: defaultUserKDF}
	rec.Salt = make([]byte, 16)
	if _, err := rand.Read(rec.Salt); err != nil {
		return KMIPUser{}, fmt.Errorf("devices: salt for user %q: %w", name, err)
	}
	rec.Hash = hashPassword(password, rec.Salt, rec.KDF)
	key := r.userKey(name)
	err = r.retry(ctx, "add kmip user "+name, func(cmd *store.Command) error {
		return r.read(func(v view) error {
			if _, found, err := v.get(bucketKMIPUsers, key); err != nil {
				return err
			} else if found {
				return existsf("kmip user %q already exists", name)
			}
			cmd.RequireAbsent(bucketKMIPUsers, key)
			return r.put(cmd, bucketKMIPUsers, key, rec)
		})
	})
	clear(rec.Hash)
	if err != nil {
		return KMIPUser{}, err
	}
	r.log.Info("devices: kmip user added", "user", name, "group", rec.Group)
	return rec.KMIPUser, nil
}

// RemoveKMIPUser deletes a KMIP user. Its objects stay, owned by the name:
// a user added again under that name owns them again.
func (r *Registry) RemoveKMIPUser(ctx context.Context, name string) error {
	key := r.userKey(name)
	err := r.retry(ctx, "remove kmip user "+name, func(cmd *store.Command) error {
		return r.read(func(v view) error {
			sealed, found, err := v.get(bucketKMIPUsers, key)
			if err != nil {
				return err
			}
			if !found {
				return notFoundf("kmip user %q", name)
			}
			cmd.RequireEqual(bucketKMIPUsers, key, sealed)
			cmd.Delete(bucketKMIPUsers, key)
			return nil
		})
	})
	if err == nil {
		r.log.Info("devices: kmip user removed", "user", name)
	}
	return err
}

// KMIPUsers lists the KMIP users by name.
func (r *Registry) KMIPUsers() ([]KMIPUser, error) {
	var recs []kmipUserRecord
	err := r.read(func(v view) (err error) {
		recs, err = scan[kmipUserRecord](v, bucketKMIPUsers)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]KMIPUser, 0, len(recs))
	for _, rec := range recs {
		clear(rec.Hash)
		out = append(out, rec.KMIPUser)
	}
	slices.SortFunc(out, func(a, b KMIPUser) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// VerifyKMIPUser checks a Username and Password credential: the user
// exists and password matches its hash (constant-time comparison). An
// unknown user costs the same Argon2id computation as a known one, so
// that timing does not tell which names exist. Any refusal is
// ErrBadCredential.
func (r *Registry) VerifyKMIPUser(ctx context.Context, name string, password []byte) (KMIPUser, error) {
	var (
		rec   kmipUserRecord
		found bool
	)
	if name != "" && len(name) <= maxUserName && len(password) <= maxPasswordLen {
		err := r.read(func(v view) (err error) {
			_, found, err = v.record(bucketKMIPUsers, r.userKey(name), &rec)
			return err
		})
		if err != nil {
			return KMIPUser{}, err
		}
	}
	if !found {
		rec = kmipUserRecord{KDF: defaultUserKDF, Salt: make([]byte, 16), Hash: make([]byte, 32)}
	}
	select {
	case verifySlots <- struct{}{}:
	case <-ctx.Done():
		return KMIPUser{}, fmt.Errorf("devices: verify kmip user: %w", ctx.Err())
	}
	got := hashPassword(password, rec.Salt, rec.KDF)
	<-verifySlots
	ok := subtle.ConstantTimeCompare(got, rec.Hash) == 1
	clear(got)
	clear(rec.Hash)
	if !found || !ok || len(password) == 0 {
		return KMIPUser{}, detailf(ErrBadCredential, "kmip user %q: unknown user or wrong password", name)
	}
	return rec.KMIPUser, nil
}
