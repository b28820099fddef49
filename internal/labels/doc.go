// Package labels manages key labels: named RSA key pairs with certificates,
// as the 3592 process uses them to wrap and unwrap tape data keys (the
// seed's 'Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20').
//
// A label is stored as ordinary KMIP managed objects through keys.Manager,
// so KMIP clients see it too: a Certificate, a Public Key and (unless the
// label is a partner's certificate alone) a Private Key, linked to each
// other, each named by the label, in group "default". The private key is
// not extractable: neither devices nor KMIP clients can Get it; only an
// administrator can export it, through the admin API, audited
// (Service.ExportPrivateKey). The label's
// OAEP hash and the hash of its public key are custom attributes of the
// certificate (x-keywarden-oaep-hash, x-keywarden-key-hash).
package labels
