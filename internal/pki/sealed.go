package pki

// SealedFile is a private key file of the data directory sealed under the
// master key, with the purpose barrier.OpenFile and barrier.SealFile bind it
// to.
type SealedFile struct {
	// Name is the file's name inside DIR/pki.
	Name string
	// Path is the file's path.
	Path string
	// Purpose is the purpose it is sealed for.
	Purpose string
}

// SealedFiles lists the private key files sealed under the master key in
// dataDir: the CA key and the server key. A backup opens them and a restore
// seals them again under the new master key.
func SealedFiles(dataDir string) []SealedFile {
	p := PathsFor(dataDir)
	return []SealedFile{
		{Name: "ca-key.sealed", Path: p.CAKey, Purpose: purposeCAKey},
		{Name: "server-key.sealed", Path: p.ServerKey, Purpose: purposeServerKey},
	}
}
