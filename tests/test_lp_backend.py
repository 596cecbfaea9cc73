"""The backend protocol's result type: gas field, pickling of results saved before it existed."""

from __future__ import annotations

import pickle

from asymlp_runtime.lp.backend import OpResult


def test_op_result_pickled_without_gas_field_loads_with_zero_gas():
    result = OpResult("a:0", "open", -600, 600, 10, 1, 2, block_number=7, tx_hash="0x" + "11" * 32, gas_cost_wei=9)
    assert pickle.loads(pickle.dumps(result)) == result
    old = OpResult.__new__(OpResult)
    old.__setstate__(result.__getstate__()[:11])  # the 11 fields of results saved before gas_cost_wei
    assert old == OpResult("a:0", "open", -600, 600, 10, 1, 2, block_number=7, tx_hash="0x" + "11" * 32)
    assert old.gas_cost_wei == 0
