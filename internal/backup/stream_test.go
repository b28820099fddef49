package backup

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// testKDF keeps Argon2id cheap in tests.
var testKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

var testPass = []byte("correct horse battery staple")

func encrypt(t *testing.T, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testPass, testKDF)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	// Odd write sizes cross chunk boundaries.
	for p := plain; len(p) > 0; {
		n := min(len(p), 7777)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func decrypt(data []byte, pass []byte) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(data), pass)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestStreamRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"chunk minus one", ChunkSize - 1},
		{"exactly one chunk", ChunkSize},
		{"chunk plus one", ChunkSize + 1},
		{"three chunks exactly", 3 * ChunkSize},
		{"several chunks", 3*ChunkSize + 1234},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := make([]byte, tc.size)
			_, _ = rand.Read(plain)
			enc := encrypt(t, plain)
			chunks := max(1, (tc.size+ChunkSize-1)/ChunkSize)
			if want := headerLen + tc.size + chunks*tagLen; len(enc) != want {
				t.Errorf("encrypted size %d, want %d", len(enc), want)
			}
			if bytes.Contains(enc, plain[:min(len(plain), 64)]) && tc.size >= 16 {
				t.Errorf("plaintext visible in the encrypted stream")
			}
			got, err := decrypt(enc, testPass)
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("round trip changed the data (%d bytes back, %d in)", len(got), len(plain))
			}
		})
	}
}

func TestStreamRefusals(t *testing.T) {
	plain := make([]byte, 2*ChunkSize+100)
	_, _ = rand.Read(plain)
	enc := encrypt(t, plain)
	chunk1 := headerLen + ChunkSize + tagLen // start of the second chunk
	flip := func(at int) []byte {
		d := bytes.Clone(enc)
		d[at] ^= 0x01
		return d
	}
	for _, tc := range []struct {
		name string
		data []byte
		pass []byte
		want []error
	}{
		{"wrong passphrase", enc, []byte("wrong horse battery staple"), []error{ErrWrongPassphrase}},
		{"not a backup", []byte("hello, world: this is not a keywarden backup at all, nope"), testPass, []error{ErrNotBackup}},
		{"flipped salt", flip(len(Magic) + 12), testPass, []error{ErrWrongPassphrase}},
		{"flipped header MAC", flip(headerLen - 1), testPass, []error{ErrWrongPassphrase}},
		{"flipped byte in first chunk", flip(headerLen + 10), testPass, []error{ErrDamaged}},
		{"flipped tag of middle chunk", flip(chunk1 + ChunkSize + 3), testPass, []error{ErrDamaged}},
		{"flipped byte in last chunk", flip(len(enc) - 20), testPass, []error{ErrDamaged}},
		{"cut at a chunk boundary", enc[:chunk1], testPass, []error{ErrTruncated}},
		{"cut inside a chunk", enc[:chunk1+500], testPass, []error{ErrTruncated, ErrDamaged}},
		{"cut inside the header", enc[:headerLen-5], testPass, []error{ErrTruncated}},
		{"header only", enc[:headerLen], testPass, []error{ErrTruncated}},
		{"last chunk dropped", enc[:chunk1+ChunkSize+tagLen], testPass, []error{ErrTruncated}},
		{"data appended", append(bytes.Clone(enc), 0), testPass, []error{ErrDamaged}},
		{"chunks swapped", swapChunks(enc, 0, 1), testPass, []error{ErrDamaged}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decrypt(tc.data, tc.pass)
			if err == nil {
				t.Fatal("decrypt succeeded")
			}
			for _, w := range tc.want {
				if errors.Is(err, w) {
					return
				}
			}
			t.Fatalf("error %v; want one of %v", err, tc.want)
		})
	}
}

// swapChunks exchanges two full chunks of an encrypted stream.
func swapChunks(enc []byte, i, j int) []byte {
	d := bytes.Clone(enc)
	size := ChunkSize + tagLen
	a := d[headerLen+i*size : headerLen+(i+1)*size]
	b := d[headerLen+j*size : headerLen+(j+1)*size]
	tmp := bytes.Clone(a)
	copy(a, b)
	copy(b, tmp)
	return d
}

func TestStreamNoPlaintextBeforeAuthentication(t *testing.T) {
	plain := bytes.Repeat([]byte("k"), 2*ChunkSize)
	enc := encrypt(t, plain)
	enc[headerLen+ChunkSize+tagLen+5] ^= 1 // damage the second chunk
	r, err := NewReader(bytes.NewReader(enc), testPass)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("error %v, want ErrDamaged", err)
	}
	if len(got) != ChunkSize {
		t.Fatalf("read %d bytes before the damaged chunk, want exactly the first chunk (%d)", len(got), ChunkSize)
	}
}

func TestWriterRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		pass []byte
		kdf  KDFParams
	}{
		{"empty passphrase", nil, testKDF},
		{"zero time", testPass, KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}},
		{"huge memory", testPass, KDFParams{Time: 1, MemoryKiB: 1 << 30, Threads: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewWriter(io.Discard, tc.pass, tc.kdf); err == nil {
				t.Fatal("NewWriter accepted it")
			}
		})
	}
}
