package keystore

import "testing"

// FuzzParseJava feeds arbitrary bytes to the JKS and JCEKS readers. The
// integrity digest would reject almost every mutation before any entry is
// read, so the fuzzer also runs the entry parser behind it directly. The
// seed corpus (testdata/fuzz/FuzzParseJava) holds a JKS and a JCEKS
// keystore made by keytool (password pwpwpw, one RSA-1024 test key).
func FuzzParseJava(f *testing.F) {
	f.Add([]byte{0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 0})
	// keytool protects JCEKS keys with 200,000 MD5 iterations; the fuzzer
	// exercises the container, FuzzProtectors the key protectors.
	iterationLimit = 2000
	f.Cleanup(func() { iterationLimit = maxIterations })
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range []Type{TypeJKS, TypeJCEKS} {
			_, _ = Parse(data, typ, Options{StorePassword: "pwpwpw"})
			// Behind the digest: the entries, as if it had matched.
			r := &reader{buf: data}
			r.u32()
			version := r.u32()
			n := r.count(maxEntries, "entry count")
			for i := 0; i < n && r.err == nil; i++ {
				if _, err := readEntry(r, typ, version, Options{StorePassword: "pwpwpw", KeyPassword: "pwpwpw"}); err != nil {
					break
				}
			}
		}
	})
}

// FuzzProtectors feeds arbitrary protected keys to both key protectors.
func FuzzProtectors(f *testing.F) {
	f.Add(make([]byte, 48), []byte("12345678"), 1)
	f.Fuzz(func(t *testing.T, data, salt []byte, iterations int) {
		if iterations > 2000 {
			iterations %= 2000 // keep each run quick; the bound is tested by the parser
		}
		_, _ = jksRecover(data, "pw")
		_, _ = jceRecover(data, "pw", salt, iterations)
		_, _ = recoverKey(data, TypeJCEKS, "pw")
	})
}
