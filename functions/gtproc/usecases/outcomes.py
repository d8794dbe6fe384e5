"""What became of one written file, as the handlers, the CLI and the replay read it."""

from __future__ import annotations

import enum


class FileStatus(enum.StrEnum):
    """A str enum: outcomes are logged and compared as the strings they always were."""

    PROCESSED = "processed"
    SKIPPED = "skipped"  # not a file of ours, outside the prefix, or gone before it was read
    INVALID = "invalid"  # reported once: `Annotation File Invalid`, or a bad streaming message's `Validation Failed`
    UNREADABLE = "unreadable"  # manifests only: the function's role may not read it (a 403), never retried
