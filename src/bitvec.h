/*
 * bitvec.h: helpers for the bit functions (PostgreSQL's bit and bit varying values,
 * struct VarBit).  See src/README, section "bit".
 */
#ifndef VECSEARCH_BITVEC_H
#define VECSEARCH_BITVEC_H

#include "postgres.h"
#include "utils/varbit.h"

/*
 * A zeroed bit string of nbits bits (0 .. 16000 here: the quantized vectors), the
 * result of binary_quantize.  Bit i (0-based) is the (7 - i % 8)-th bit of byte i / 8,
 * as PostgreSQL stores bit strings.
 */
extern VarBit *InitBitString(int nbits);

#endif							/* VECSEARCH_BITVEC_H */
