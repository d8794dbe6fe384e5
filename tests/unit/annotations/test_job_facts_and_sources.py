"""The annotations use case's two collaborators on their own: the job's facts (described once per job,
or read from the key and the answers) and the objects' sources (each file read once per job)."""

from __future__ import annotations

import json

import pytest
from gtproc.adapters.memory import MemoryJobs
from gtproc.domain.groundtruth import TaskType, WorkerAnswer
from gtproc.domain.keys import OutputKey, parse_output_key
from gtproc.usecases.job_facts import JobFacts
from gtproc.usecases.object_sources import SOURCE_MISS_RETRY_SECONDS, ObjectSources
from gtproc.usecases.ports import DescribedBy, JobInfo, ObjectMissing, ObjectUnreadable

BUCKET = "gt-output"
MANIFEST_URI = "s3://gt-input/flowers/input.manifest"


def worker_response(job: str = "flowers", iteration: int = 1, object_id: int = 0) -> OutputKey:
    key = f"out/{job}/annotations/worker-response/iteration-{iteration}/{object_id}/2024-03-12_10:00:55.json"
    location = parse_output_key(key)
    assert location is not None
    return location


CLASSIFIED = [WorkerAnswer("w1", {"crowd-image-classifier": {"label": "rose"}})]
SEGMENTED = [WorkerAnswer("w1", {"crowd-semantic-segmentation": {"labeledImage": {"pngImageData": "iVBO"}}})]


def test_a_job_is_described_once_and_its_description_used():
    info = JobInfo(
        label_attribute_name="flowers-label", source=DescribedBy.SAGEMAKER, output_path=f"s3://{BUCKET}/out/"
    )
    jobs = MemoryJobs({"flowers": info})
    facts = JobFacts(jobs, warn=pytest.fail)
    for object_id in range(3):
        assert facts.of(BUCKET, worker_response(object_id=object_id), CLASSIFIED) is info
    assert jobs.calls == 1


def test_a_job_sagemaker_cannot_describe_is_named_by_its_key_and_its_answers():
    jobs = MemoryJobs({})
    facts = JobFacts(jobs, warn=pytest.fail)
    assert facts.of(BUCKET, worker_response(), CLASSIFIED) == JobInfo(label_attribute_name="flowers")
    assert facts.of(BUCKET, worker_response("masks"), SEGMENTED) == JobInfo(label_attribute_name="masks-ref")
    facts.of(BUCKET, worker_response(object_id=1), CLASSIFIED)
    assert jobs.calls == 2  # "not described" is remembered too


def test_another_folders_job_of_the_same_name_is_not_this_keys():
    elsewhere = JobInfo(
        label_attribute_name="other-label", task_type=TaskType.TEXT_CLASSIFICATION, source=DescribedBy.SAGEMAKER,
        output_path="s3://another-bucket/out/",
    )  # fmt: skip
    warnings: list[str] = []
    facts = JobFacts(MemoryJobs({"flowers": elsewhere}), warn=warnings.append)
    assert facts.of(BUCKET, worker_response(), CLASSIFIED) == JobInfo(label_attribute_name="flowers")
    assert len(warnings) == 1 and "s3://another-bucket/out/" in warnings[0]


def test_a_transient_error_is_raised_and_not_cached():
    class Flaky:
        calls = 0

        def describe(self, job_name: str) -> JobInfo | None:
            self.calls += 1
            if self.calls == 1:
                raise TimeoutError("throttled")
            return JobInfo(label_attribute_name="flowers-label")

    facts = JobFacts(Flaky(), warn=pytest.fail)
    with pytest.raises(TimeoutError):
        facts.of(BUCKET, worker_response(), CLASSIFIED)
    assert facts.of(BUCKET, worker_response(), CLASSIFIED).label_attribute_name == "flowers-label"


class Files:
    """SourceFiles over a dict of URIs, counting reads."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files: dict[str, bytes | Exception] = dict(files)
        self.reads: list[str] = []

    def read(self, uri: str, max_bytes: int) -> bytes:
        self.reads.append(uri)
        if uri not in self.files:
            raise ObjectMissing(uri)
        data = self.files[uri]
        if isinstance(data, Exception):
            raise data
        return data


def intermediate_uri(iteration: int) -> str:
    return f"s3://{BUCKET}/out/flowers/annotations/intermediate/{iteration}/annotations.json"


def test_the_input_manifest_is_read_once_per_job_and_names_each_line():
    lines = [{"source-ref": "s3://gt-input/a.jpg"}, {"source": "a text"}]
    files = Files({MANIFEST_URI: "\n".join(json.dumps(line) for line in lines).encode()})
    sources = ObjectSources(files)
    info = JobInfo(label_attribute_name="flowers", input_manifest_uri=MANIFEST_URI)
    assert sources.fields(BUCKET, worker_response(object_id=0), info, "0", now=0.0) == {
        "source_ref": "s3://gt-input/a.jpg"
    }
    assert sources.fields(BUCKET, worker_response(object_id=1), info, "1", now=0.0) == {"source": "a text"}
    assert files.reads == [MANIFEST_URI] and sources.unknown == 0


def test_an_object_missing_from_the_intermediate_file_is_looked_for_again_only_after_a_while():
    files = Files({intermediate_uri(1): b""})
    sources = ObjectSources(files)
    info = JobInfo(label_attribute_name="flowers")  # no input manifest
    location = worker_response(object_id=4)
    assert sources.fields(BUCKET, location, info, "4", now=100.0) == {}
    assert sources.fields(BUCKET, location, info, "4", now=100.0 + SOURCE_MISS_RETRY_SECONDS - 1) == {}
    assert files.reads == [intermediate_uri(1)] and sources.unknown == 2
    record = {"datasetObjectId": "4", "manifestLine": {"source-ref": "s3://gt-input/d.jpg"}}
    files.files[intermediate_uri(1)] = json.dumps(record).encode()
    found = sources.fields(BUCKET, location, info, "4", now=100.0 + SOURCE_MISS_RETRY_SECONDS)
    assert found == {"source_ref": "s3://gt-input/d.jpg"}
    assert files.reads == [intermediate_uri(1)] * 2 and sources.unknown == 2


def test_a_file_that_will_never_be_read_names_no_source_and_a_transient_error_is_raised():
    info = JobInfo(label_attribute_name="flowers", input_manifest_uri=MANIFEST_URI)
    denied = Files({MANIFEST_URI: ObjectUnreadable("403"), intermediate_uri(1): ObjectMissing("gone")})
    sources = ObjectSources(denied)
    assert sources.fields(BUCKET, worker_response(object_id=2), info, "2", now=0.0) == {}
    assert sources.unknown == 1
    throttled = ObjectSources(Files({MANIFEST_URI: TimeoutError("SlowDown")}))
    with pytest.raises(TimeoutError):
        throttled.fields(BUCKET, worker_response(object_id=2), info, "2", now=0.0)
