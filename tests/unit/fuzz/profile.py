"""The one settings profile of the fuzz tests: bounded, reproducible, no deadline.

CI needs the same examples on every run (``derandomize``: the seed comes from the test's
source, so a failure found once is found again) and a bounded cost (the whole fuzz suite
runs in well under 30 s on the CI machine). ``VINOPS_FUZZ_EXAMPLES=N`` raises the count and
``VINOPS_FUZZ_RANDOM=1`` draws fresh random examples, for a longer local hunt.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("VINOPS_FUZZ_EXAMPLES", "0") or 0)
_RANDOM = os.environ.get("VINOPS_FUZZ_RANDOM", "") == "1"


def fuzz(examples: int) -> settings:
    """Settings for one property: ``examples`` in CI, ``VINOPS_FUZZ_EXAMPLES`` when set."""
    return settings(
        max_examples=EXAMPLES or examples,
        deadline=None,  # a shared CI machine has slow moments: never a timing failure
        derandomize=not _RANDOM,
        database=None,  # no state carried between runs: CI sees exactly what a clean run sees
        print_blob=True,  # a failure prints the @reproduce_failure blob to keep as @example
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
