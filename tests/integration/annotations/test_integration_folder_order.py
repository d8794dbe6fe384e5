"""A folder replay writes each iteration's worker responses before Ground Truth's consolidation of them."""

from __future__ import annotations

import json
from pathlib import Path

from gtproc.cli.main import main
from gtproc.local.replay import load_writes

TREE = Path(__file__).resolve().parents[3] / "events" / "jobs" / "classification-failed-auto"


def test_worker_responses_are_written_before_the_consolidation_of_their_iteration():
    keys = [write.key for write in load_writes(TREE)]
    responses = [k for k in keys if "/consolidation-response/" in k]
    assert responses
    for response in responses:
        iteration = response.split("/iteration-")[1].split("/")[0]
        workers = [k for k in keys if f"/worker-response/iteration-{iteration}/" in k]
        assert workers and max(keys.index(k) for k in workers) < keys.index(response)


def test_a_folder_replay_compares_every_consolidated_object(tmp_path):
    events_out = tmp_path / "events.jsonl"
    assert main(["replay", str(TREE), "--quiet", "--events-out", str(events_out)]) == 0
    events = [json.loads(line) for line in events_out.read_text().splitlines()]
    consolidated = {e["detail"]["datasetObjectId"] for e in events if e["detail-type"] == "Annotations Consolidated"}
    compared = {e["detail"]["datasetObjectId"] for e in events if e["detail-type"] == "Consolidation Compared"}
    assert consolidated and compared == consolidated
