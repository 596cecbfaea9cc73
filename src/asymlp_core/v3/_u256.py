"""Fixed-width unsigned limb arithmetic for Numba kernels (private to :mod:`asymlp_core.v3.nb`).

Representation
--------------
A uint256 is a ``UniTuple(uint64, 4)`` ``(w0, w1, w2, w3)``, least significant word first:
``value = w0 + w1 * 2**64 + w2 * 2**128 + w3 * 2**192``.  Narrower contract types
(uint160, uint128, uint24) use the same four words with the upper words zero.  A signed
int256 (or int128, sign-extended) is the two's complement of its value mod ``2**256`` in
the same four words, so that wrapping add/sub are the unsigned ones and the sign is bit
255.  A 512-bit product is a ``UniTuple(uint64, 8)``.

Every function here wraps modulo ``2**64`` per word exactly as the EVM wraps modulo
``2**256`` per value; carries and borrows are returned explicitly.  64x64->128-bit
products are built from 32-bit halves (Numba has no 128-bit integer), and 128/64-bit
division is Hacker's Delight ``divlu`` on a normalised divisor; 512/256-bit division is
Knuth's algorithm D on 64-bit digits.  All constants are ``np.uint64`` so that no
operation mixes signed and unsigned 64-bit types (Numba would fall back to float64).
Shift counts are kept in ``[0, 64)`` for word shifts (LLVM leaves larger shifts undefined).

The functions run unchanged under ``NUMBA_DISABLE_JIT=1`` on NumPy scalars (with
NumPy's integer-overflow warnings silenced by the caller).
"""

from __future__ import annotations

import numpy as np
from numba import njit

U64 = np.uint64
ZERO = U64(0)
ONE = U64(1)
M32 = U64(0xFFFFFFFF)
MAX64 = U64(0xFFFFFFFFFFFFFFFF)
TOP64 = U64(0x8000000000000000)
S32 = U64(32)
S63 = U64(63)
S64 = U64(64)

Z256 = (ZERO, ZERO, ZERO, ZERO)
ONE256 = (ONE, ZERO, ZERO, ZERO)
MAX256 = (MAX64, MAX64, MAX64, MAX64)


def to_words(value: int) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Python int (taken mod 2**256, so negatives become two's complement) -> 4 words."""
    v = value & ((1 << 256) - 1)
    return (
        U64(v & 0xFFFFFFFFFFFFFFFF),
        U64((v >> 64) & 0xFFFFFFFFFFFFFFFF),
        U64((v >> 128) & 0xFFFFFFFFFFFFFFFF),
        U64((v >> 192) & 0xFFFFFFFFFFFFFFFF),
    )


def from_words(words) -> int:  # noqa: ANN001 - any sequence of 4 integer words
    """4 words -> unsigned Python int in ``[0, 2**256)``."""
    return int(words[0]) | (int(words[1]) << 64) | (int(words[2]) << 128) | (int(words[3]) << 192)


def from_words_signed(words) -> int:  # noqa: ANN001
    """4 words (two's complement) -> signed Python int in ``[-2**255, 2**255)``."""
    v = from_words(words)
    return v - (1 << 256) if v >> 255 else v


# ----------------------------------------------------------------------------- 64-bit words


@njit(cache=True)
def mul64(a, b):
    """Full 64x64 -> 128-bit product ``(lo, hi)`` from 32-bit halves."""
    a0 = a & M32
    a1 = a >> S32
    b0 = b & M32
    b1 = b >> S32
    t = a0 * b0
    k = t >> S32
    t = a1 * b0 + k
    w1 = t & M32
    w2 = t >> S32
    t = a0 * b1 + w1
    k = t >> S32
    hi = a1 * b1 + w2 + k
    lo = a * b
    return lo, hi


@njit(cache=True)
def adc(a, b, c):
    """``a + b + c`` for a carry ``c`` in {0, 1}: ``(sum, carry_out)``."""
    s = a + b
    c1 = s < a
    s2 = s + c
    c2 = s2 < c
    return s2, U64(c1 or c2)


@njit(cache=True)
def sbb(a, b, c):
    """``a - b - c`` for a borrow ``c`` in {0, 1}: ``(difference, borrow_out)``."""
    d = a - b
    b1 = a < b
    d2 = d - c
    b2 = d < c
    return d2, U64(b1 or b2)


@njit(cache=True)
def mac(acc, a, b, c):
    """``acc + a * b + c`` (all words): ``(lo, hi)``; never overflows 128 bits."""
    lo, hi = mul64(a, b)
    lo = lo + acc
    if lo < acc:
        hi += ONE
    lo = lo + c
    if lo < c:
        hi += ONE
    return lo, hi


@njit(cache=True)
def clz64(x):
    """Number of leading zero bits of a nonzero word, as a uint64."""
    n = ZERO
    if x <= U64(0x00000000FFFFFFFF):
        n += U64(32)
        x <<= U64(32)
    if x <= U64(0x0000FFFFFFFFFFFF):
        n += U64(16)
        x <<= U64(16)
    if x <= U64(0x00FFFFFFFFFFFFFF):
        n += U64(8)
        x <<= U64(8)
    if x <= U64(0x0FFFFFFFFFFFFFFF):
        n += U64(4)
        x <<= U64(4)
    if x <= U64(0x3FFFFFFFFFFFFFFF):
        n += U64(2)
        x <<= U64(2)
    if x <= U64(0x7FFFFFFFFFFFFFFF):
        n += ONE
    return n


@njit(cache=True)
def divlu(u1, u0, v):
    """``(u1 * 2**64 + u0) // v`` and the remainder, for ``v`` with its top bit set and ``u1 < v``.

    Hacker's Delight ``divlu`` on 32-bit half-words (normalised divisor, so no shift).
    """
    b = U64(0x100000000)
    vn1 = v >> S32
    vn0 = v & M32
    un1 = u0 >> S32
    un0 = u0 & M32
    q1 = u1 // vn1
    rhat = u1 - q1 * vn1
    while q1 >= b or q1 * vn0 > ((rhat << S32) | un1):
        q1 -= ONE
        rhat += vn1
        if rhat >= b:
            break
    un21 = (u1 << S32) + un1 - q1 * v
    q0 = un21 // vn1
    rhat = un21 - q0 * vn1
    while q0 >= b or q0 * vn0 > ((rhat << S32) | un0):
        q0 -= ONE
        rhat += vn1
        if rhat >= b:
            break
    r = (un21 << S32) + un0 - q0 * v
    return (q1 << S32) | q0, r


# ----------------------------------------------------------------------------- 256-bit values


@njit(cache=True)
def is_zero(a):
    return (a[0] | a[1] | a[2] | a[3]) == ZERO


@njit(cache=True)
def eq(a, b):
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[3] == b[3]


@njit(cache=True)
def lt(a, b):
    """Unsigned ``a < b``."""
    if a[3] != b[3]:
        return a[3] < b[3]
    if a[2] != b[2]:
        return a[2] < b[2]
    if a[1] != b[1]:
        return a[1] < b[1]
    return a[0] < b[0]


@njit(cache=True)
def le(a, b):
    return not lt(b, a)


@njit(cache=True)
def fits64(a):
    return (a[1] | a[2] | a[3]) == ZERO


@njit(cache=True)
def fits128(a):
    return (a[2] | a[3]) == ZERO


@njit(cache=True)
def fits160(a):
    return a[3] == ZERO and a[2] <= M32


@njit(cache=True)
def add(a, b):
    """Wrapping ``a + b``: ``(sum mod 2**256, carry)``."""
    r0, c = adc(a[0], b[0], ZERO)
    r1, c = adc(a[1], b[1], c)
    r2, c = adc(a[2], b[2], c)
    r3, c = adc(a[3], b[3], c)
    return (r0, r1, r2, r3), c


@njit(cache=True)
def sub(a, b):
    """Wrapping ``a - b``: ``(difference mod 2**256, borrow)``."""
    r0, c = sbb(a[0], b[0], ZERO)
    r1, c = sbb(a[1], b[1], c)
    r2, c = sbb(a[2], b[2], c)
    r3, c = sbb(a[3], b[3], c)
    return (r0, r1, r2, r3), c


@njit(cache=True)
def add_small(a, k):
    """Wrapping ``a + k`` for a word ``k``."""
    r0, c = adc(a[0], k, ZERO)
    r1, c = adc(a[1], ZERO, c)
    r2, c = adc(a[2], ZERO, c)
    r3, c = adc(a[3], ZERO, c)
    return (r0, r1, r2, r3)


@njit(cache=True)
def neg(a):
    """Two's complement ``-a mod 2**256``."""
    r, _ = sub(Z256, a)
    return r


@njit(cache=True)
def is_neg(a):
    """Sign bit (bit 255) of an int256 held in two's complement."""
    return (a[3] >> S63) != ZERO


@njit(cache=True)
def shl(a, s):
    """``a << s mod 2**256`` for a shift ``s`` (uint64, any size)."""
    if s >= U64(256):
        return Z256
    w = s >> U64(6)
    b = s & S63
    x0, x1, x2, x3 = a[0], a[1], a[2], a[3]
    if w == U64(1):
        x0, x1, x2, x3 = ZERO, x0, x1, x2
    elif w == U64(2):
        x0, x1, x2, x3 = ZERO, ZERO, x0, x1
    elif w == U64(3):
        x0, x1, x2, x3 = ZERO, ZERO, ZERO, x0
    if b == ZERO:
        return (x0, x1, x2, x3)
    c = S64 - b
    return (x0 << b, (x1 << b) | (x0 >> c), (x2 << b) | (x1 >> c), (x3 << b) | (x2 >> c))


@njit(cache=True)
def shr(a, s):
    """``a >> s`` (logical) for a shift ``s`` (uint64, any size)."""
    if s >= U64(256):
        return Z256
    w = s >> U64(6)
    b = s & S63
    x0, x1, x2, x3 = a[0], a[1], a[2], a[3]
    if w == U64(1):
        x0, x1, x2, x3 = x1, x2, x3, ZERO
    elif w == U64(2):
        x0, x1, x2, x3 = x2, x3, ZERO, ZERO
    elif w == U64(3):
        x0, x1, x2, x3 = x3, ZERO, ZERO, ZERO
    if b == ZERO:
        return (x0, x1, x2, x3)
    c = S64 - b
    return ((x0 >> b) | (x1 << c), (x1 >> b) | (x2 << c), (x2 >> b) | (x3 << c), x3 >> b)


@njit(cache=True)
def to_float(a):
    """Nearest-ish float64 of an unsigned 256-bit value (relative error below 2**-52)."""
    return (
        float(a[0])
        + float(a[1]) * 18446744073709551616.0
        + float(a[2]) * 3.402823669209385e38
        + float(a[3]) * 6.277101735386681e57
    )


@njit(cache=True)
def mul_wide(a, b):
    """Full 256x256 -> 512-bit product as 8 words (schoolbook on 64-bit digits)."""
    a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
    # row 0
    b0 = b[0]
    r0, c = mac(ZERO, a0, b0, ZERO)
    r1, c = mac(ZERO, a1, b0, c)
    r2, c = mac(ZERO, a2, b0, c)
    r3, r4 = mac(ZERO, a3, b0, c)
    r5 = ZERO
    r6 = ZERO
    r7 = ZERO
    b1 = b[1]
    if b1 != ZERO:
        r1, c = mac(r1, a0, b1, ZERO)
        r2, c = mac(r2, a1, b1, c)
        r3, c = mac(r3, a2, b1, c)
        r4, r5 = mac(r4, a3, b1, c)
    b2 = b[2]
    if b2 != ZERO:
        r2, c = mac(r2, a0, b2, ZERO)
        r3, c = mac(r3, a1, b2, c)
        r4, c = mac(r4, a2, b2, c)
        r5, r6 = mac(r5, a3, b2, c)
    b3 = b[3]
    if b3 != ZERO:
        r3, c = mac(r3, a0, b3, ZERO)
        r4, c = mac(r4, a1, b3, c)
        r5, c = mac(r5, a2, b3, c)
        r6, r7 = mac(r6, a3, b3, c)
    return (r0, r1, r2, r3, r4, r5, r6, r7)


@njit(cache=True)
def _word(t, i):
    """``t[i]`` of a 4-word tuple for a small runtime index (0 beyond the tuple)."""
    if i == 0:
        return t[0]
    if i == 1:
        return t[1]
    if i == 2:
        return t[2]
    if i == 3:
        return t[3]
    return ZERO


@njit(cache=True)
def _div_step(r, u, d, n):
    """One Knuth D step: ``(r * 2**64 + u) // d`` (< 2**64) and the remainder.

    ``d`` is normalised (top bit of word ``n - 1`` set, words ``>= n`` zero) and ``r < d``.
    """
    w0, w1, w2, w3, w4 = u, r[0], r[1], r[2], r[3]
    # top two digits of the (n+1)-digit window and the divisor's top digit
    if n == 1:
        top, nxt, vtop = w1, w0, d[0]
    elif n == 2:
        top, nxt, vtop = w2, w1, d[1]
    elif n == 3:
        top, nxt, vtop = w3, w2, d[2]
    else:
        top, nxt, vtop = w4, w3, d[3]
    if top >= vtop:
        qhat = MAX64
    else:
        qhat, _ = divlu(top, nxt, vtop)
    if qhat == ZERO:
        return ZERO, (w0, w1, w2, w3)
    # window - qhat * d over five digits
    p0, c = mac(ZERO, qhat, d[0], ZERO)
    p1, c = mac(ZERO, qhat, d[1], c)
    p2, c = mac(ZERO, qhat, d[2], c)
    p3, p4 = mac(ZERO, qhat, d[3], c)
    w0, bw = sbb(w0, p0, ZERO)
    w1, bw = sbb(w1, p1, bw)
    w2, bw = sbb(w2, p2, bw)
    w3, bw = sbb(w3, p3, bw)
    w4, bw = sbb(w4, p4, bw)
    # qhat exceeds the true digit by at most 2 (Knuth, Theorem 4.3.1B): add back.
    while bw != ZERO:
        qhat -= ONE
        w0, c = adc(w0, d[0], ZERO)
        w1, c = adc(w1, d[1], c)
        w2, c = adc(w2, d[2], c)
        w3, c = adc(w3, d[3], c)
        w4 = w4 + c
        if w4 == ZERO and c != ZERO:
            bw = ZERO
    return qhat, (w0, w1, w2, w3)


@njit(cache=True)
def divrem_wide(num, d):
    """``num // d`` and ``num % d`` for a 512-bit ``num`` (8 words) and nonzero 256-bit ``d``.

    Precondition: the quotient fits in 256 bits, i.e. ``num >> 256 < d`` (FullMath checks
    ``denominator > prod1`` before dividing).  Returns ``(quotient, remainder)``.
    """
    # Fast path: everything in one word.
    if (num[1] | num[2] | num[3] | num[4] | num[5] | num[6] | num[7]) == ZERO and fits64(d):
        return (num[0] // d[0], ZERO, ZERO, ZERO), (num[0] % d[0], ZERO, ZERO, ZERO)
    if d[3] != ZERO:
        n = 4
        s = clz64(d[3])
    elif d[2] != ZERO:
        n = 3
        s = clz64(d[2])
    elif d[1] != ZERO:
        n = 2
        s = clz64(d[1])
    else:
        n = 1
        s = clz64(d[0])
    # Normalise: shift divisor and dividend left by s bits; the dividend stays < 2**512
    # because num < d * 2**256.
    dn = shl(d, s)
    if s == ZERO:
        u0, u1, u2, u3, u4, u5, u6, u7 = num
    else:
        c = S64 - s
        u0 = num[0] << s
        u1 = (num[1] << s) | (num[0] >> c)
        u2 = (num[2] << s) | (num[1] >> c)
        u3 = (num[3] << s) | (num[2] >> c)
        u4 = (num[4] << s) | (num[3] >> c)
        u5 = (num[5] << s) | (num[4] >> c)
        u6 = (num[6] << s) | (num[5] >> c)
        u7 = (num[7] << s) | (num[6] >> c)
    # Starting remainder: the upper 256 bits, which are < dn (and have only n digits).
    r = (u4, u5, u6, u7)
    q3, r = _div_step(r, u3, dn, n)
    q2, r = _div_step(r, u2, dn, n)
    q1, r = _div_step(r, u1, dn, n)
    q0, r = _div_step(r, u0, dn, n)
    return (q0, q1, q2, q3), shr(r, s)


@njit(cache=True)
def divrem(a, d):
    """``a // d`` and ``a % d`` for 256-bit values, ``d`` nonzero."""
    return divrem_wide((a[0], a[1], a[2], a[3], ZERO, ZERO, ZERO, ZERO), d)


@njit(cache=True)
def mul_lo_checked(a, b):
    """``a * b`` mod 2**256 and whether the full product fits in 256 bits."""
    p = mul_wide(a, b)
    return (p[0], p[1], p[2], p[3]), (p[4] | p[5] | p[6] | p[7]) == ZERO
