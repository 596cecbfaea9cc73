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
products are built from 32-bit halves (Numba has no 128-bit integer).  512/256-bit
division (:func:`divrem_wide`) is Knuth's algorithm D on 64-bit digits after
normalising the divisor: one- and two-word divisors use Moller & Granlund's
reciprocal-based 2-by-1 and 3-by-2 digit divisions (one reciprocal per division, from a
9-bit table and Newton steps, no hardware division); wider divisors estimate each digit
with the 3-by-2 division of the top words and correct it with one add-back; Hacker's
Delight ``divlu`` (128/64 on 32-bit half-words) remains for the rare window equal to the
divisor's top words.  All constants are ``np.uint64`` so that no operation mixes signed
and unsigned 64-bit types (Numba would fall back to float64).  Shift counts are kept in
``[0, 64)`` for word shifts (LLVM leaves larger shifts undefined).

The word helpers and the digit divisions are ``inline="always"`` (inlined in Numba IR);
larger functions are left to LLVM: inlining the whole call graph made the first
compilation of ``mul_div`` take two minutes instead of a few seconds, for ~10% speed.

The functions run unchanged under ``NUMBA_DISABLE_JIT=1`` on NumPy scalars (with
NumPy's integer-overflow warnings silenced by the caller, see ``nb._quiet``).

Numba's on-disk cache keys each compiled kernel on the file that defines it, so an edit
here alone would leave the kernels of ``nb.py`` on their old compiled code.  The CLI and
the test suite key the cache directory by a hash of all ``asymlp_core`` sources
(``asymlp_runtime.ops.numba_cache``); in other sessions, clear the package's
``__pycache__/*.nbi``/``*.nbc`` after editing this module.
"""

from __future__ import annotations

import numpy as np
from numba import njit

U64 = np.uint64
ZERO = U64(0)
ONE = U64(1)
M32 = U64(0xFFFFFFFF)
MAX64 = U64(0xFFFFFFFFFFFFFFFF)
S32 = U64(32)
S63 = U64(63)
S64 = U64(64)

Z256 = (ZERO, ZERO, ZERO, ZERO)
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def adc(a, b, c):
    """``a + b + c`` for a carry ``c`` in {0, 1}: ``(sum, carry_out)``."""
    s = a + b
    c1 = s < a
    s2 = s + c
    c2 = s2 < c
    return s2, U64(c1 or c2)


@njit(cache=True, inline="always")
def sbb(a, b, c):
    """``a - b - c`` for a borrow ``c`` in {0, 1}: ``(difference, borrow_out)``."""
    d = a - b
    b1 = a < b
    d2 = d - c
    b2 = d < c
    return d2, U64(b1 or b2)


@njit(cache=True, inline="always")
def mac(acc, a, b, c):
    """``acc + a * b + c`` (all words): ``(lo, hi)``; never overflows 128 bits."""
    if a == ZERO:
        lo = acc + c
        return lo, U64(lo < c)
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
    if u1 == ZERO:
        return u0 // v, u0 % v
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


#: Moller-Granlund's 9-bit reciprocal table: ``(2**19 - 3 * 2**8) // d9`` for d9 in [256, 512).
RECIPROCAL_TABLE = np.array([0x7FD00 // (0x100 | i) for i in range(256)], dtype=np.uint64)


@njit(cache=True, inline="always")
def reciprocal_word(d):
    """``floor((2**128 - 1) / d) - 2**64`` for a normalised word ``d``, without a division.

    Moller & Granlund, "Improved division by invariant integers" (2011), Algorithm 2: a
    table estimate refined by integer Newton steps (checked against the exact formula in
    the tests).
    """
    v0 = RECIPROCAL_TABLE[(d >> U64(55)) - U64(256)]
    d40 = (d >> U64(24)) + ONE
    v1 = (v0 << U64(11)) - ((v0 * v0 * d40) >> U64(40)) - ONE
    v2 = (v1 << U64(13)) + ((v1 * (U64(0x1000000000000000) - v1 * d40)) >> U64(47))
    d0 = d & ONE
    d63 = (d >> ONE) + d0
    e = ((v2 >> ONE) & (ZERO - d0)) - v2 * d63
    _, h = mul64(v2, e)
    v3 = (h >> ONE) + (v2 << U64(31))
    lo, hi = mul64(v3, d)
    lo2 = lo + d
    hi += U64(lo2 < lo)
    return v3 - hi - d


@njit(cache=True, inline="always")
def div_2by1(u1, u0, d, v):
    """``(u1 * 2**64 + u0) // d`` and the remainder with the reciprocal ``v`` of ``d``.

    Moller & Granlund, "Improved division by invariant integers" (2011), Algorithm 4;
    ``d`` normalised, ``u1 < d``.
    """
    lo, hi = mul64(v, u1)
    q0 = lo + u0
    q1 = hi + u1 + ONE + U64(q0 < lo)
    r = u0 - q1 * d
    if r > q0:
        q1 -= ONE
        r += d
    if r >= d:
        q1 += ONE
        r -= d
    return q1, r


@njit(cache=True)
def reciprocal_3by2(d1, d0):
    """``floor((2**192 - 1) / (d1 * 2**64 + d0)) - 2**64`` for normalised ``d1`` (Algorithm 6)."""
    v = reciprocal_word(d1)
    p = d1 * v
    p += d0
    if p < d0:
        v -= ONE
        if p >= d1:
            v -= ONE
            p -= d1
        p -= d1
    t0, t1 = mul64(v, d0)
    p += t1
    if p < t1:
        v -= ONE
        if p > d1 or (p == d1 and t0 >= d0):
            v -= ONE
    return v


@njit(cache=True, inline="always")
def div_3by2(u2, u1, u0, d1, d0, v):
    """``(u2, u1, u0) // (d1, d0)`` (one word) and the two-word remainder (Algorithm 5).

    Requires ``(u2, u1) < (d1, d0)``, ``d1`` normalised, ``v = reciprocal_3by2(d1, d0)``.
    """
    lo, hi = mul64(v, u2)
    q0 = lo + u1
    q1 = hi + u2 + U64(q0 < lo)
    r1 = u1 - q1 * d1
    t0, t1 = mul64(d0, q1)
    # (r1, r0) = (r1, u0) - (t1, t0) - (d1, d0)  mod 2**128
    r0, bw = sbb(u0, t0, ZERO)
    r1, _ = sbb(r1, t1, bw)
    r0, bw = sbb(r0, d0, ZERO)
    r1, _ = sbb(r1, d1, bw)
    q1 += ONE
    if r1 >= q0:
        q1 -= ONE
        r0, c = adc(r0, d0, ZERO)
        r1 = r1 + d1 + c
    if r1 > d1 or (r1 == d1 and r0 >= d0):
        q1 += ONE
        r0, bw = sbb(r0, d0, ZERO)
        r1 = r1 - d1 - bw
    return q1, r0, r1


@njit(cache=True)
def _div_step(r, u, d, n):
    """One Knuth D step: ``(r * 2**64 + u) // d`` (< 2**64) and the remainder.

    ``d`` is normalised (top bit of word ``n - 1`` set, words ``>= n`` zero) and ``r < d``.
    One- and two-word divisors take exact short paths; wider ones estimate the digit from
    the top two words and add back at most twice.
    """
    if n == 1:
        if r[0] == ZERO:
            return u // d[0], (u % d[0], ZERO, ZERO, ZERO)
        q, rem = divlu(r[0], u, d[0])
        return q, (rem, ZERO, ZERO, ZERO)
    if (r[0] | r[1] | r[2] | r[3]) == ZERO:
        return ZERO, (u, ZERO, ZERO, ZERO)
    if n == 2:
        # 3-by-2 division: estimate from (r1, r0) / d1, then Knuth's test with d0 makes the
        # digit exact because it covers every word of the divisor.
        r0, r1, d0, d1 = r[0], r[1], d[0], d[1]
        if r1 == ZERO and r0 < d1:
            return ZERO, (u, r0, ZERO, ZERO)
        if r1 >= d1:
            qhat = MAX64
            rhat = r0 + d1
            ok = rhat >= r0  # rhat < 2**64, else the test below is false anyway
        else:
            qhat, rhat = divlu(r1, r0, d1)
            ok = True
        while ok:
            lo, hi = mul64(qhat, d0)
            if hi > rhat or (hi == rhat and lo > u):
                qhat -= ONE
                t = rhat + d1
                ok = t >= rhat
                rhat = t
            else:
                break
        p0, c = mac(ZERO, qhat, d0, ZERO)
        p1, p2 = mac(ZERO, qhat, d1, c)
        w0, bw = sbb(u, p0, ZERO)
        w1, bw = sbb(r0, p1, bw)
        return qhat, (w0, w1, ZERO, ZERO)
    w0, w1, w2, w3, w4 = u, r[0], r[1], r[2], r[3]
    if n == 3:
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
def _div_step_wide(r, u, d, n, v):
    """A Knuth D step for a three- or four-word normalised divisor, digit from ``div_3by2``.

    ``v = reciprocal_3by2(d[n-1], d[n-2])``.  The digit from the top three window words
    over the top two divisor words is exact or one too large; one add-back fixes it.  The
    rare window whose top two words equal the divisor's takes the plain step.
    """
    if n == 3:
        r0, r1, r2 = r[0], r[1], r[2]
        d0, d1, d2 = d[0], d[1], d[2]
        if r2 == d2 and r1 == d1:
            return _div_step(r, u, d, n)
        q, x0, x1 = div_3by2(r2, r1, r0, d2, d1, v)
        p0, p1 = mul64(q, d0)
        y0, bw = sbb(u, p0, ZERO)
        y1, bw = sbb(x0, p1, bw)
        y2, bw = sbb(x1, ZERO, bw)
        if bw != ZERO:
            q -= ONE
            y0, c = adc(y0, d0, ZERO)
            y1, c = adc(y1, d1, c)
            y2 = y2 + d2 + c
        return q, (y0, y1, y2, ZERO)
    r0, r1, r2, r3 = r[0], r[1], r[2], r[3]
    d0, d1, d2, d3 = d[0], d[1], d[2], d[3]
    if r3 == d3 and r2 == d2:
        return _div_step(r, u, d, n)
    q, x0, x1 = div_3by2(r3, r2, r1, d3, d2, v)
    p0, c = mac(ZERO, q, d0, ZERO)
    p1, p2 = mac(ZERO, q, d1, c)
    y0, bw = sbb(u, p0, ZERO)
    y1, bw = sbb(r0, p1, bw)
    y2, bw = sbb(x0, p2, bw)
    y3, bw = sbb(x1, ZERO, bw)
    if bw != ZERO:
        q -= ONE
        y0, c = adc(y0, d0, ZERO)
        y1, c = adc(y1, d1, c)
        y2, c = adc(y2, d2, c)
        y3 = y3 + d3 + c
    return q, (y0, y1, y2, y3)


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
    if n == 1:
        # one-word divisor: four 2-by-1 divisions with one reciprocal
        d0 = dn[0]
        v = reciprocal_word(d0)
        # leading digits are zero while the window is below the divisor
        q3 = ZERO
        r0 = u3
        if u4 != ZERO or u3 >= d0:
            q3, r0 = div_2by1(u4, u3, d0, v)
        q2 = ZERO
        if r0 != ZERO or u2 >= d0:
            q2, r0 = div_2by1(r0, u2, d0, v)
        else:
            r0 = u2
        q1, r0 = div_2by1(r0, u1, d0, v)
        q0, r0 = div_2by1(r0, u0, d0, v)
        return (q0, q1, q2, q3), (r0 >> s, ZERO, ZERO, ZERO)
    if n == 2:
        # two-word divisor: four 3-by-2 divisions with one reciprocal
        d0 = dn[0]
        d1 = dn[1]
        v = reciprocal_3by2(d1, d0)
        q3 = ZERO
        r0 = u3
        r1 = u4
        if u5 != ZERO or u4 >= d1:
            q3, r0, r1 = div_3by2(u5, u4, u3, d1, d0, v)
        q2 = ZERO
        if r1 != ZERO or r0 >= d1:
            q2, r0, r1 = div_3by2(r1, r0, u2, d1, d0, v)
        else:
            r1 = r0
            r0 = u2
        q1, r0, r1 = div_3by2(r1, r0, u1, d1, d0, v)
        q0, r0, r1 = div_3by2(r1, r0, u0, d1, d0, v)
        return (q0, q1, q2, q3), shr((r0, r1, ZERO, ZERO), s)
    v = reciprocal_3by2(dn[n - 1], dn[n - 2])
    r = (u4, u5, u6, u7)
    q3, r = _div_step_wide(r, u3, dn, n, v)
    q2, r = _div_step_wide(r, u2, dn, n, v)
    q1, r = _div_step_wide(r, u1, dn, n, v)
    q0, r = _div_step_wide(r, u0, dn, n, v)
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
