"""The checkpoint: owns the chain of batches in flight and their offsets, from hand-off to the
committed write (retries, bisect on a poison batch), and the state the service shares."""
