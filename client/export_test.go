package client

// The tests decode strictly, so that a field the server sends and these
// types lack fails them.
func init() { strictDecoding = true }
