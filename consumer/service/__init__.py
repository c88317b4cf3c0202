"""The long-running service: start (startup checks, join), the main loop (fetch into the
batcher, hand full batches to the checkpoint), stop; rebalances, health and background tasks."""
