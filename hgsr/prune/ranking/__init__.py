"""Which channels are removed (policy): importance criteria and their score tables, loss-increase scoring,
the removal plans from scores or from exact zeros, and iterative pruning."""
