"""A cap on the blocks that wait between two stages of the ingest pipeline, so the driver's
memory does not grow with the corpus.

Ray Data backpressures on bytes (each stage's share of the object store). The ingest
pipeline's blocks are small (a few dozen file names, or a few dozen documents' chunks),
while the driver keeps a record of every block in flight (its reference, metadata and
schema, some kilobytes each): listing, which is fast, would run ahead of embedding, which
is slow, and the driver would hold a record for nearly every block of the corpus before the
byte budgets noticed. :class:`QueuedBlocksCap` stops a stage from starting tasks or taking
more output from its running tasks (a listing task then pauses) while more than
``max_blocks`` of its blocks wait for the next stage.

It is added to Ray Data's own policies (:func:`enable`) through the extension point Ray Data
reads its policies from (``backpressure_policies.enabled``, Ray 2.60; Ray is pinned).
"""

from __future__ import annotations

from typing import Any

from ray.data._internal.execution.backpressure_policy import (
    ENABLED_BACKPRESSURE_POLICIES,
    ENABLED_BACKPRESSURE_POLICIES_CONFIG_KEY,
)
from ray.data._internal.execution.backpressure_policy.backpressure_policy import (
    BackpressurePolicy,
)

#: Where :class:`QueuedBlocksCap` reads its cap in the ``DataContext``.
MAX_QUEUED_BLOCKS_KEY = "llmops.ingest.max_queued_blocks"


class QueuedBlocksCap(BackpressurePolicy):
    """Holds back a stage while the cap of its output blocks wait for the next stage to take
    them (its output queue, which is the next stage's input queue). Blocks the next stage
    has taken into a batch it is still filling do not count, so a stage whose batches span
    several blocks always gets them."""

    @property
    def name(self) -> str:
        return "QueuedBlocksCap"

    def _waiting(self, op: Any) -> int:
        state = self._topology.get(op)
        return 0 if state is None else int(state.total_enqueued_output_blocks())

    def _over(self, op: Any) -> bool:
        cap = self._data_context.get_config(MAX_QUEUED_BLOCKS_KEY, None)
        return cap is not None and self._waiting(op) >= int(cap)

    def can_add_input(self, op: Any) -> bool:
        return not self._over(op)

    def max_task_output_bytes_to_read(self, op: Any) -> int | None:
        return 0 if self._over(op) else None


def enable(context: Any, max_blocks: int) -> None:
    """Add :class:`QueuedBlocksCap` (``max_blocks`` per stage) to Ray Data's policies in
    ``context`` (a ``ray.data.DataContext``)."""
    context.set_config(MAX_QUEUED_BLOCKS_KEY, max_blocks)
    policies = context.get_config(
        ENABLED_BACKPRESSURE_POLICIES_CONFIG_KEY, ENABLED_BACKPRESSURE_POLICIES
    )
    if QueuedBlocksCap not in policies:
        context.set_config(ENABLED_BACKPRESSURE_POLICIES_CONFIG_KEY, [*policies, QueuedBlocksCap])
