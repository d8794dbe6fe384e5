"""`gtproc tail`'s one-line summary of each detail type, and --json's one line per event."""

from __future__ import annotations

import json

import msgspec
import pytest
from gtproc.cli.tail import format_event
from gtproc.contract import events as contract

FRAME = {"job_name": "birds", "bucket": "out", "job_path": "team/birds"}


def event(detail_type: str, detail: msgspec.Struct) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "x",
            "detail-type": detail_type,
            "source": "gtproc",
            "time": "2026-12-02T15:04:05Z",
            "detail": msgspec.to_builtins(detail),
        }
    )


CASES = {
    "Objects Failed": (
        contract.ObjectsFailed(
            **FRAME,
            label_attribute_name="birds",
            iteration=None,
            manifest_uri="s3://out/m",
            count=1,
            objects=[contract.FailedObject(dataset_object_id="4", source="a\nb", failure_reason="ClientError")],
        ),
        "15:04:05 Objects Failed           out/team/birds: 1 failed (birds, final manifest): 4",
    ),
    "Validation Failed": (
        contract.ValidationFailed(
            **FRAME,
            manifest_uri="s3://out/team/birds/manifests/output/output.manifest",
            invalid_count=2,
            errors=[contract.LineError(line=3, code="json-invalid", message="truncated\nJSON")],
        ),
        "15:04:05 Validation Failed        out/team/birds: 2 invalid lines in"
        " s3://out/team/birds/manifests/output/output.manifest; line 3: [json-invalid] truncated JSON",
    ),
    "Annotations Consolidated": (
        contract.AnnotationsConsolidated(
            **FRAME,
            iteration=2,
            dataset_object_id="17",
            label_attribute_name="birds",
            task_type="image-classification",
            label=1,
            metadata={"class-name": "Goose"},
            workers=3,
            agreement=2 / 3,
            method="dawid-skene",
        ),
        "15:04:05 Annotations Consolidated out/team/birds: iteration 2 object 17: Goose"
        " (agreement 0.67 of 3 workers, dawid-skene)",
    ),
    "Consolidation Compared": (
        contract.ConsolidationCompared(
            **FRAME,
            iteration=1,
            dataset_object_id="5",
            label_attribute_name="birds",
            task_type="t",
            agree=False,
            ours=contract.ConsolidatedLabel(label=1),
            ground_truth=contract.ConsolidatedLabel(label=0),
        ),
        "15:04:05 Consolidation Compared   out/team/birds: iteration 1 object 5: gtproc differs from Ground Truth",
    ),
    "Annotation File Invalid": (
        contract.AnnotationFileInvalid(
            **FRAME,
            iteration=1,
            dataset_object_id="9",
            file_uri="s3://out/f.json",
            code="undecodable",
            message="not JSON",
        ),
        "15:04:05 Annotation File Invalid  out/team/birds: [undecodable] s3://out/f.json: not JSON",
    ),
}


@pytest.mark.parametrize("detail_type", CASES)
def test_one_line_summary(detail_type):
    detail, line = CASES[detail_type]
    assert format_event(event(detail_type, detail)) == line


def test_a_long_message_is_cut_and_every_summary_is_one_line():
    detail = contract.AnnotationFileInvalid(
        **FRAME,
        iteration=1,
        dataset_object_id=None,
        file_uri="s3://out/f.json",
        code="undecodable",
        message="x" * 1000,
    )
    line = format_event(event("Annotation File Invalid", detail))
    assert "\n" not in line and len(line) < 250 and line.endswith("…")


def test_json_is_the_whole_event_on_one_line_and_unknown_shapes_still_print():
    body = event("Objects Failed", CASES["Objects Failed"][0])
    line = format_event(body, as_json=True)
    assert "\n" not in line and json.loads(line) == json.loads(body)
    future = json.dumps({"detail-type": "Something New", "time": "2026-12-02T15:04:05Z", "detail": {"jobName": "j"}})
    assert format_event(future) == '15:04:05 Something New            ?/j: {"jobName": "j"}'
    assert format_event("not json\nat all") == "not json at all"
