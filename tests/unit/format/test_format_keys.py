"""S3 key parser: the real keys of the format reference §1.1, odd prefixes, notification encoding."""

from __future__ import annotations

import pytest
from gtproc.domain.keys import Area, decode_notification_key, is_under_prefix, parse_output_key

# (key, prefix, job, area, iteration, object index). Real keys from the format reference §1.1 (bucket
# stripped), the `…` of the reference replaced by a made-up prefix.
REAL_KEYS = [
    pytest.param(
        "birds/out/birds-open-images-clone/annotations/worker-response/iteration-1/95/2019-04-18_16:13:05.json",
        "birds/out",
        "birds-open-images-clone",
        Area.WORKER_RESPONSE,
        1,
        95,
        id="worker-response-colons",
    ),
    pytest.param(
        "birds/out/birds-open-images-clone/annotations/worker-response/iteration-2/165/2019-04-18_16:36:03.json",
        "birds/out",
        "birds-open-images-clone",
        Area.WORKER_RESPONSE,
        2,
        165,
        id="worker-response-iteration-2",
    ),
    pytest.param(
        "data/whyalla/sept/annotation/annotations/worker-response/iteration-1/0/"
        "2ff99e13e1e053f494f4457accb039ac1342c7c3/frame_0019.jpeg.json",
        "data/whyalla/sept",
        "annotation",
        Area.WORKER_RESPONSE,
        1,
        0,
        id="video-per-frame-worker-file",
    ),
    pytest.param(
        "dialog-labeling-demo9-private/annotations/consolidated-annotation/consolidation-request/iteration-1/"
        "2019-10-27_08:56:48.json",
        "",
        "dialog-labeling-demo9-private",
        Area.CONSOLIDATION_REQUEST,
        1,
        None,
        id="consolidation-request-job-at-bucket-root",
    ),
    pytest.param(
        "gt/ppi/ppi-clone-2-phosphorylation-clone/annotations/consolidated-annotation/consolidation-request/"
        "iteration-1/2021-01-05_01:36:23.json",
        "gt/ppi",
        "ppi-clone-2-phosphorylation-clone",
        Area.CONSOLIDATION_REQUEST,
        1,
        None,
        id="consolidation-request",
    ),
    pytest.param(
        "out/job/annotations/consolidated-annotation/consolidation-response/iteration-3/2019-04-18_17:02:42.json",
        "out",
        "job",
        Area.CONSOLIDATION_RESPONSE,
        3,
        None,
        id="consolidation-response",
    ),
    pytest.param(
        "job_results/nfl-example-job-2020-07-17-21-04-23/annotations/consolidated-annotation/output/0/SeqLabel.json",
        "job_results",
        "nfl-example-job-2020-07-17-21-04-23",
        Area.CONSOLIDATED_OUTPUT,
        None,
        0,
        id="seqlabel",
    ),
    pytest.param(
        "label/S10-label3/annotations/consolidated-annotation/output/0_2022-09-09T17:25:31.918770.png",
        "label",
        "S10-label3",
        Area.CONSOLIDATED_OUTPUT,
        None,
        0,
        id="segmentation-png",
    ),
    pytest.param(
        "chapter2/cat/output/my-cat-job/annotations/consolidated-annotation/output/12_2020-04-21T13:48:00.091190.png",
        "chapter2/cat/output",
        "my-cat-job",
        Area.CONSOLIDATED_OUTPUT,
        None,
        12,
        id="segmentation-png-deep-prefix",
    ),
    pytest.param(
        "pc/job/annotations/consolidated-annotation/output/7/frame.zlib",
        "pc",
        "job",
        Area.CONSOLIDATED_OUTPUT,
        None,
        7,
        id="point-cloud-zlib",
    ),
    pytest.param(
        "keypoints/test-keypoint-100demo/annotations/intermediate/1/annotations.json",
        "keypoints",
        "test-keypoint-100demo",
        Area.ANNOTATIONS_INTERMEDIATE,
        1,
        None,
        id="annotations-intermediate",
    ),
    pytest.param(
        "teeth/kjh-teeth-labeling/manifests/intermediate/1/output.manifest",
        "teeth",
        "kjh-teeth-labeling",
        Area.INTERMEDIATE_MANIFEST,
        1,
        None,
        id="intermediate-manifest",
    ),
    pytest.param(
        "a/b/c/croz-20211127-2/manifests/output/output.manifest",
        "a/b/c",
        "croz-20211127-2",
        Area.FINAL_MANIFEST,
        None,
        None,
        id="final-manifest",
    ),
    pytest.param(
        "out/job/annotations/worker-response/iteration-12/301/2019-04-18_16:13:05.json",
        "out",
        "job",
        Area.WORKER_RESPONSE,
        12,
        301,
        id="worker-response-iteration-over-9",
    ),
    pytest.param(
        "out/job/annotations/consolidated-annotation/consolidation-response/iteration-10/2019-04-18_17:02:42.json",
        "out",
        "job",
        Area.CONSOLIDATION_RESPONSE,
        10,
        None,
        id="consolidation-response-iteration-over-9",
    ),
    pytest.param(
        "out/job/manifests/intermediate/11/output.manifest",
        "out",
        "job",
        Area.INTERMEDIATE_MANIFEST,
        11,
        None,
        id="intermediate-manifest-over-9",
    ),
]


@pytest.mark.parametrize(("key", "prefix", "job", "area", "iteration", "index"), REAL_KEYS)
def test_real_keys(key: str, prefix: str, job: str, area: Area, iteration: int | None, index: int | None) -> None:
    parsed = parse_output_key(key)
    assert parsed is not None
    assert (parsed.key, parsed.prefix, parsed.job_name, parsed.area) == (key, prefix, job, area)
    assert (parsed.iteration, parsed.object_index) == (iteration, index)
    assert parsed.job_root == (f"{prefix}/{job}" if prefix else job)
    assert key.startswith(parsed.job_root + "/")
    assert parsed.is_manifest == (area in (Area.INTERMEDIATE_MANIFEST, Area.FINAL_MANIFEST))


@pytest.mark.parametrize(
    ("key", "prefix", "job", "area"),
    [
        ("o1/o2/o3/o4/o5/job/manifests/output/output.manifest", "o1/o2/o3/o4/o5", "job", Area.FINAL_MANIFEST),
        ("annotations/job/manifests/output/output.manifest", "annotations", "job", Area.FINAL_MANIFEST),
        ("manifests/job/manifests/intermediate/2/output.manifest", "manifests", "job", Area.INTERMEDIATE_MANIFEST),
        ("out/annotations/manifests/output/output.manifest", "out", "annotations", Area.FINAL_MANIFEST),
        ("out/manifests/manifests/output/output.manifest", "out", "manifests", Area.FINAL_MANIFEST),
        ("manifests/manifests/output/output.manifest", "", "manifests", Area.FINAL_MANIFEST),
        (
            "annotations/annotations/annotations/worker-response/iteration-1/3/2019-04-18_16:13:05.json",
            "annotations",
            "annotations",
            Area.WORKER_RESPONSE,
        ),
        (
            "out/manifests/annotations/consolidated-annotation/consolidation-request/iteration-1/t.json",
            "out",
            "manifests",
            Area.CONSOLIDATION_REQUEST,
        ),
        ("manifests/annotations/intermediate/4/annotations.json", "", "manifests", Area.ANNOTATIONS_INTERMEDIATE),
        ("out/my job/manifests/output/output.manifest", "out", "my job", Area.FINAL_MANIFEST),
        ("출력/작업/manifests/output/output.manifest", "출력", "작업", Area.FINAL_MANIFEST),
    ],
)
def test_prefixes_and_jobs_named_like_areas(key: str, prefix: str, job: str, area: Area) -> None:
    parsed = parse_output_key(key)
    assert parsed is not None
    assert (parsed.prefix, parsed.job_name, parsed.area) == (prefix, job, area)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "output.manifest",
        "manifests/output/output.manifest",  # no job folder
        "/manifests/output/output.manifest",  # empty job folder
        "ic_data/worker-response/iteration-1/95/2019-04-18_16:13:05.json",  # the tarball's layout, no annotations/
        "out/job/annotation-tool/data.json",
        "out/job/annotation-tool/template.liquid",
        "out/job/activelearning/1/x/auto_annotator_output.txt",
        "out/job/training/2/x/job/output/model.tar.gz",
        "out/job/temp/abc",
        "out/job/manifests/output/other.manifest",
        "out/job/manifests/output/output.manifest.tmp",
        "out/job/manifests/intermediate/x/output.manifest",
        "out/job/manifests/intermediate/1/annotations.json",
        "out/job/annotations/intermediate/1/output.manifest",
        "out/job/annotations/worker-response/iteration-x/3/2019-04-18_16:13:05.json",
        "out/job/annotations/worker-response/iteration-1/abc/2019-04-18_16:13:05.json",
        "out/job/annotations/worker-response/iteration-1/3/a/b/c.json",
        "out/job/annotations/worker-response/iteration-1/3",
        "out/job/annotations/consolidated-annotation/consolidation-request/2019-04-18_16:13:05.json",
        "out/job/annotations/consolidated-annotation/consolidation-request/iteration-x/t.json",
        "out/job/annotations/consolidated-annotation/output/x_2020.png",
        # files a custom Lambda writes below an area are not the area's files
        "out/job/annotations/consolidated-annotation/consolidation-response/iteration-1/annotations/x-ann.json",
        # folder markers (keys ending in `/`, as the S3 console creates them) are not files of the layout
        "out/job/annotations/worker-response/iteration-1/3/",
        "out/job/annotations/worker-response/iteration-1/3/2ff99e13e1e053f494f4457accb039ac1342c7c3/",
        "out/job/annotations/consolidated-annotation/consolidation-request/iteration-1/",
        "out/job/annotations/consolidated-annotation/output/0/",
        "out/job/manifests/output/",
        "out/job/manifests/intermediate/1/",
    ],
)
def test_keys_outside_the_layout(key: str) -> None:
    assert parse_output_key(key) is None


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (
            "out/job/annotations/worker-response/iteration-1/95/2019-04-18_16%3A13%3A05.json",
            "out/job/annotations/worker-response/iteration-1/95/2019-04-18_16:13:05.json",
        ),
        ("out/my+job/manifests/output/output.manifest", "out/my job/manifests/output/output.manifest"),
        ("out/a%2Bb/manifests/output/output.manifest", "out/a+b/manifests/output/output.manifest"),
        ("out/%EC%9E%91%EC%97%85/manifests/output/output.manifest", "out/작업/manifests/output/output.manifest"),
        ("out/job/manifests/output/output.manifest", "out/job/manifests/output/output.manifest"),
        ("a%2Fb", "a/b"),  # moto's quote_plus encodes `/` too
        ("100%25+done", "100% done"),
    ],
)
def test_decode_notification_key(raw: str, decoded: str) -> None:
    assert decode_notification_key(raw) == decoded


def test_decoded_notification_key_parses() -> None:
    raw = "my+prefix/%ED%95%9C%EA%B8%80-job/annotations/worker-response/iteration-10/7/2024-03-12_09%3A16%3A21.json"
    parsed = parse_output_key(decode_notification_key(raw))
    assert parsed is not None
    assert (parsed.prefix, parsed.job_name, parsed.area, parsed.iteration, parsed.object_index) == (
        "my prefix",
        "한글-job",
        Area.WORKER_RESPONSE,
        10,
        7,
    )
    assert parse_output_key(raw) is not None  # raw keys of this shape parse too, but with the encoded name
    assert parse_output_key(raw).job_name == "%ED%95%9C%EA%B8%80-job"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "prefix", "expected"),
    [
        ("out/job/manifests/output/output.manifest", "out", True),
        ("out/job/manifests/output/output.manifest", "out/", True),
        ("out/job/manifests/output/output.manifest", "/out/", True),
        ("out/job/manifests/output/output.manifest", "out/job", True),
        ("out/job/manifests/output/output.manifest", "", True),
        ("out/job/manifests/output/output.manifest", "/", True),
        ("output/job/manifests/output/output.manifest", "out", False),
        ("outer/x", "out", False),
        ("out", "out", False),
        ("other/out/x", "out", False),
        ("a/b/c", "a/b", True),
        ("a/bc/d", "a/b", False),
    ],
)
def test_is_under_prefix(key: str, prefix: str, expected: bool) -> None:
    assert is_under_prefix(key, prefix) is expected


def test_video_frame_responses_are_told_apart_from_object_responses():
    frame = parse_output_key(
        "data/whyalla/sept/annotation/annotations/worker-response/iteration-1/0/"
        "2ff99e13e1e053f494f4457accb039ac1342c7c3/frame_0019.jpeg.json"
    )
    whole = parse_output_key("out/birds/annotations/worker-response/iteration-1/95/2019-04-18_16:13:05.json")
    assert frame is not None and frame.is_video_frame
    assert whole is not None and not whole.is_video_frame
