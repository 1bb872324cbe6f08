/* One hexadecimal digit, shared by the URL decoder, the chunked-body decoder
 * and preforkctl's JSON reader. */
#ifndef PREFORKD_HEX_H
#define PREFORKD_HEX_H

/* The value of c as a hex digit (either case), or -1. */
static inline int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
