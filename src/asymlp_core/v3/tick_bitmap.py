"""TickBitmap: one bit per spacing-aligned tick, 256 ticks per word (Python-int reference).

Mirrors ``v3-core/contracts/libraries/TickBitmap.sol``.  The bitmap is a dict
``word_pos -> uint256``; the swap loop visits at most one word per step, so a swap step
ends at a word boundary even when no tick is initialized there.
"""

from __future__ import annotations

from .errors import V3Error


def position(compressed: int) -> tuple[int, int]:
    """(word_pos, bit_pos) of a compressed tick (``tick // tick_spacing``)."""
    return compressed >> 8, compressed & 0xFF


def flip_tick(bitmap: dict[int, int], tick: int, tick_spacing: int) -> None:
    """Toggle the bit of ``tick``; reverts (bare) when the tick is not a multiple of the spacing."""
    if tick % tick_spacing != 0:
        raise V3Error("", f"tick {tick} is not a multiple of the tick spacing {tick_spacing}")
    word_pos, bit_pos = position(tick // tick_spacing)
    word = bitmap.get(word_pos, 0) ^ (1 << bit_pos)
    if word:
        bitmap[word_pos] = word
    else:
        bitmap.pop(word_pos, None)


def next_initialized_tick_within_one_word(
    bitmap: dict[int, int], tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """The next initialized tick in the word of ``tick``, or the word's edge if there is none.

    ``lte=True`` searches at or left of ``tick`` (price falling, token0 in); ``False``
    searches strictly right of it.  Returns ``(next_tick, initialized)``.
    """
    # The contract truncates toward zero and then rounds negative ticks down: a floor.
    compressed = tick // tick_spacing
    if lte:
        word_pos, bit_pos = position(compressed)
        mask = (1 << bit_pos) - 1 + (1 << bit_pos)
        masked = bitmap.get(word_pos, 0) & mask
        if masked:
            return (compressed - (bit_pos - (masked.bit_length() - 1))) * tick_spacing, True
        return (compressed - bit_pos) * tick_spacing, False
    word_pos, bit_pos = position(compressed + 1)
    mask = ~((1 << bit_pos) - 1) & ((1 << 256) - 1)
    masked = bitmap.get(word_pos, 0) & mask
    if masked:
        lsb = (masked & -masked).bit_length() - 1
        return (compressed + 1 + (lsb - bit_pos)) * tick_spacing, True
    return (compressed + 1 + (255 - bit_pos)) * tick_spacing, False
