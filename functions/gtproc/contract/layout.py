"""Where gtproc reads and writes beyond the two pipelines' triggers, and how their messages are retried:
shared by the stack (infra/), the adapters and the local replay."""

from __future__ import annotations

# Keys Ground Truth writes that only the post-annotation function touches.
CONSOLIDATION_REQUEST_PATTERNS: tuple[str, ...] = ("*/annotations/consolidated-annotation/consolidation-request/*",)
CONSOLIDATED_OUTPUT_PATTERNS: tuple[str, ...] = ("*/annotations/consolidated-annotation/output/*",)

# Prefixes in the labels bucket (which has no event notifications).
LABELS_PREFIX = "labels"  # the jobs' labels so far
LEDGERS_PREFIX = "state"  # the jobs' ledgers
MASKS_PREFIX = "consolidated"  # consolidated segmentation masks of the annotations pipeline

# Delivery: a message is received this many times before it goes to the dead-letter queue.
MAX_RECEIVE_COUNT = 5
FUNCTION_TIMEOUT_SECONDS = 300
