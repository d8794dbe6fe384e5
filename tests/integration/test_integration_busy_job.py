"""A manifest of a job another invocation is processing fails its record and comes back in seconds."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from gtproc.adapters.dynamodb import DynamoJobState
from gtproc.handlers import manifests, wiring

KEY = "cars-bbox/manifests/intermediate/1/output.manifest"


def test_a_busy_job_is_retried_soon_not_after_the_visibility_timeout(aws, monkeypatch) -> None:
    aws.put_sample(KEY, "bbox-three-iterations/cars-bbox/manifests/intermediate/1/output.manifest")
    # Another invocation holds the job's lease.
    DynamoJobState(aws.resources.table_name).acquire(f"{aws.resources.output_bucket}/cars-bbox", "other", 1e12, 900)
    use_case = wiring.process_manifest()
    use_case.config = replace(use_case.config, lease_wait_seconds=0)
    monkeypatch.setattr(manifests, "LEASE_RETRY_SECONDS", 0)  # "soon" = now, so the test can see it

    [message] = aws.queued()
    record = aws.function.to_record(message)
    # Its only record failed: Powertools fails the whole invocation, as it does by default.
    with pytest.raises(BatchProcessingError, match="All records failed"):
        aws.invoke([record])

    assert aws.observed() == []
    # Its visibility was shortened: the same message is deliverable again at once.
    assert [m["MessageId"] for m in aws.queued()] == [message["MessageId"]]
