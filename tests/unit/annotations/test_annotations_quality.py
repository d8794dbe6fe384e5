"""Worker quality learned over a job: the spammer of the flowers job ends with a lower estimated accuracy
than every good worker, and the learned quality then decides a tie between them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gtproc.cli.main import main
from gtproc.domain.consolidation import QualityState, consolidate
from gtproc.domain.consolidation import single_label as sl
from gtproc.usecases.consolidate_annotations import AnnotationsConfig

from tests.unit.annotations.annotations_support import (
    CONSOLIDATED,
    FLOWERS,
    FLOWERS_TREE,
    GOOD_WORKERS,
    SPAMMER,
    Harness,
    classification_answer,
    worker_file,
    worker_key,
)


@pytest.fixture(scope="module")
def learned() -> Harness:
    harness = Harness()
    for key in harness.put_tree(FLOWERS_TREE, "worker-response"):
        assert harness(key).published == {CONSOLIDATED: 1}
    return harness


def test_the_job_state_knows_every_worker(learned: Harness):
    state = learned.quality(FLOWERS)
    assert set(state.worker_ids) == {SPAMMER, *GOOD_WORKERS}
    assert set(state.classes) == {"Daisy", "Rose", "Sunflower", "Tulip"}
    assert all(int(n) > 0 for n in state.answered)


def test_spammer_agreement_is_lower_than_every_good_worker(learned: Harness):
    state = learned.quality(FLOWERS)
    accuracy = dict(zip(state.worker_ids, state.worker_accuracy(), strict=True))
    assert accuracy[SPAMMER] < 0.6
    assert accuracy[SPAMMER] < min(accuracy[w] for w in GOOD_WORKERS) - 0.2


def test_spammer_confusion_matrix_is_off_the_diagonal(learned: Harness):
    state = learned.quality(FLOWERS)
    spammer = state.confusion[state.worker_ids.index(SPAMMER)]
    answered_daisy = spammer[:, state.classes.index("Daisy")].sum()
    assert answered_daisy == spammer.sum()  # the spammer always answers Daisy
    diagonal_share = {w: np.trace(m) / m.sum() for w, m in zip(state.worker_ids, state.confusion, strict=True)}
    assert diagonal_share[SPAMMER] < min(diagonal_share[w] for w in GOOD_WORKERS)


def test_estimated_accuracy_from_the_stored_state(learned: Harness):
    """Consolidating one more object with the stored state as prior: the Dawid-Skene estimate of the
    spammer's accuracy is below every good worker's."""
    state = learned.store.load_quality(f"gt-output-bucket/{FLOWERS}")[0]
    everyone = [classification_answer(w, "Rose") for w in GOOD_WORKERS] + [classification_answer(SPAMMER, "Daisy")]
    result = consolidate(None, {"100": everyone}, label_attribute_name=FLOWERS, job_name=FLOWERS, prior=state)
    estimates = {f.worker_id: f.estimated_accuracy for f in result.workers}
    assert estimates[SPAMMER] < min(estimates[w] for w in GOOD_WORKERS)
    assert QualityState.from_json(state).answered.sum() == 75


def test_learned_quality_breaks_a_tie_in_favour_of_the_good_worker(learned: Harness):
    tie = worker_file(classification_answer(SPAMMER, "Daisy"), classification_answer(GOOD_WORKERS[3], "Rose"))
    key = worker_key(FLOWERS, 4, 99, "2019-04-18_18:00:00")

    fresh = Harness()
    fresh.put(key, tie)
    fresh(key)
    [without_history] = fresh.events(CONSOLIDATED)
    assert without_history["metadata"]["confidence"] == 0.5  # two unknown workers weigh the same

    later = Harness()  # the same job later on: its stored quality, nothing else (the fixture stays unchanged)
    later.store.quality = dict(learned.store.quality)
    later.put(key, tie)
    later(key)
    [with_history] = later.events(CONSOLIDATED)
    assert with_history["metadata"]["class-name"] == "Rose"
    assert with_history["metadata"]["confidence"] > 0.5


BIRDS_LIVE = Path(__file__).resolve().parents[2] / "integration" / "data" / "birds-live"


@pytest.mark.parametrize(
    ("method", "evidence", "shape"),
    [
        ("dawid-skene-tempered", "heldOut", (60,)),
        ("dawid-skene-mixture", "mixture", (sl.MIXTURE_SHARES.size, sl.MIXTURE_CONCENTRATIONS.size)),
    ],
)
def test_the_pipeline_carries_a_methods_evidence_and_equals_consolidate_live(capsys, method, evidence, shape):
    # The pipeline keeps the method's evidence (held-out answers, the mixture's grid) in the job's state
    # between objects; `consolidate --live --method M` replays the same files the same way.
    harness = Harness(config=AnnotationsConfig(method=method))
    for key in sorted(harness.put_tree(BIRDS_LIVE, "worker-response")):
        assert harness(key).published == {CONSOLIDATED: 1}
    [(state, _)] = harness.store.quality.values()
    assert np.array(state[evidence]).shape == shape
    published = {e["datasetObjectId"]: (e["label"], e["metadata"]["confidence"]) for e in harness.events(CONSOLIDATED)}
    assert {e["method"] for e in harness.events(CONSOLIDATED)} == {method}
    assert main(["consolidate", str(BIRDS_LIVE / "birds"), "--live", "--method", method]) == 0
    cli = {}
    for line in capsys.readouterr().out.splitlines():
        item = json.loads(line)
        content = item["consolidatedAnnotation"]["content"]
        cli[item["datasetObjectId"]] = (content["birds"], content["birds-metadata"]["confidence"])
    assert len(published) == 10
    assert cli == published
