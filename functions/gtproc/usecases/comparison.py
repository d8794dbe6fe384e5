"""Our consolidation of one object next to Ground Truth's: the `Consolidation Compared` event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from gtproc.contract.events import ConsolidatedLabel, ConsolidationCompared
from gtproc.domain.comparison import Agreement, same_label
from gtproc.domain.keys import OutputKey


def comparison_of(
    bucket: str, location: OutputKey, object_id: str, ours: Mapping[str, Any], theirs: Mapping[str, Any]
) -> ConsolidationCompared | None:
    """`ours`: our `Annotations Consolidated` as its claim recorded it; `theirs`: the content of Ground
    Truth's consolidated annotation. None when the two labels cannot be compared."""
    attribute = str(ours["labelAttributeName"])
    if attribute not in theirs:  # Ground Truth's attribute under another name: its one label pair
        attribute = next((k for k in theirs if not k.endswith("-metadata")), attribute)
    theirs_label, theirs_meta = theirs.get(attribute), theirs.get(f"{attribute}-metadata") or {}
    task_type = str(ours["taskType"])
    our_label, our_meta = ours["label"], cast("dict[str, Any]", ours["metadata"])
    agreement = same_label(task_type, (our_label, our_meta), (theirs_label, theirs_meta))
    if agreement is Agreement.NOT_COMPARABLE:
        return None
    return ConsolidationCompared(
        job_name=location.job_name,
        bucket=bucket,
        job_path=location.job_root,
        iteration=location.iteration or 0,
        dataset_object_id=object_id,
        label_attribute_name=attribute,
        task_type=task_type,
        agree=agreement is Agreement.SAME,
        ours=ConsolidatedLabel(label=our_label, metadata=our_meta),
        ground_truth=ConsolidatedLabel(label=theirs_label, metadata=theirs_meta),
    )
