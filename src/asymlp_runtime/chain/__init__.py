"""Chain access: the local devnet (anvil + real Uniswap V3 contracts) and, later, any EVM RPC."""
