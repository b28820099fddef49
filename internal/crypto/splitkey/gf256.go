package splitkey

// poly is x^8 + x^4 + x^3 + x^2 + 1 without its x^8 term: the reduction
// applied when a product overflows eight bits.
const poly = 0x1D

// gfMul multiplies in GF(2^8) = GF(2)[x]/(x^8 + x^4 + x^3 + x^2 + 1),
// shift and add, without branches or tables on the operands.
func gfMul(a, b byte) byte {
	var p byte
	for range 8 {
		p ^= -(b & 1) & a
		hi := -(a >> 7)
		a = a<<1 ^ hi&poly
		b >>= 1
	}
	return p
}

// gfInv returns a^254, the inverse of a non-zero a (a^255 = 1); 0 for 0.
func gfInv(a byte) byte {
	// a^254 = a^(2+4+8+16+32+64+128).
	r := byte(1)
	sq := a
	for range 7 {
		sq = gfMul(sq, sq)
		r = gfMul(r, sq)
	}
	return r
}
