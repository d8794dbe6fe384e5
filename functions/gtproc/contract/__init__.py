"""The one source of truth shared by the stack (infra/), the Lambda handlers and the local replay.

Key patterns decide which S3 writes reach which pipeline; the event contract is what consumers of the
bus depend on. Neither may be defined anywhere else.
"""

from gtproc.contract.events import (
    ANNOTATIONS_CONSOLIDATED,
    CONSOLIDATION_COMPARED,
    DEFAULT_EVENT_SOURCE,
    DETAIL_TYPES,
    JOB_COMPLETED,
    OBJECTS_FAILED,
    OBJECTS_LABELED,
    VALIDATION_FAILED,
)
from gtproc.contract.patterns import (
    ANNOTATION_KEY_PATTERNS,
    MANIFEST_KEY_PATTERNS,
    object_created_pattern,
    prefixed_key_patterns,
)

__all__ = [
    "ANNOTATIONS_CONSOLIDATED",
    "ANNOTATION_KEY_PATTERNS",
    "CONSOLIDATION_COMPARED",
    "DEFAULT_EVENT_SOURCE",
    "DETAIL_TYPES",
    "JOB_COMPLETED",
    "MANIFEST_KEY_PATTERNS",
    "OBJECTS_FAILED",
    "OBJECTS_LABELED",
    "VALIDATION_FAILED",
    "object_created_pattern",
    "prefixed_key_patterns",
]
