"""Property tests (hypothesis) over all consolidation methods."""

from __future__ import annotations

import numpy as np
from gtproc.domain.consolidation import METHODS, TaskType, consolidate, decode_png, encode_png
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SINGLE = METHODS[TaskType.IMAGE_CLASSIFICATION]
NAMES = ("Duck", "Goose", "Swan", "Owl", "Falcon")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answers(rows):
    return [{"workerId": w, "answerContent": {"crowd-image-classifier": {"label": label}}} for w, label in rows]


def run(table, categories, method):
    objects = {oid: answers(rows) for oid, rows in table.items()}
    return consolidate(
        "image-classification", objects, label_attribute_name="l", job_name="j", categories=list(categories),
        method=method,
    )  # fmt: skip


@st.composite
def batches(draw, unanimous=False, min_answers=1):
    k = draw(st.integers(2, len(NAMES)))
    classes = NAMES[:k]
    workers = [f"w{i}" for i in range(draw(st.integers(max(2, min_answers), 6)))]
    table = {}
    for oid in range(draw(st.integers(1, 12))):
        who = draw(st.lists(st.sampled_from(workers), min_size=min_answers, max_size=len(workers), unique=True))
        if unanimous:
            label = draw(st.sampled_from(classes))
            table[str(oid)] = [(w, label) for w in who]
        else:
            table[str(oid)] = [(w, draw(st.sampled_from(classes))) for w in who]
    return classes, table


@SETTINGS
@given(batches(unanimous=True, min_answers=2))
def test_unanimous_answers_give_that_label_with_top_confidence(batch):
    classes, table = batch
    top = {"majority-vote": 1.0}
    for method in SINGLE:
        if method == "aws-modified-dawid-skene":
            continue  # not robust here: see test_aws_lets_the_class_prior_overrule_an_isolated_pair
        for obj in run(table, classes, method).objects:
            assert obj.metadata["class-name"] == table[obj.dataset_object_id][0][1], method
            assert obj.agreement == 1.0
            if method in top:
                assert obj.metadata["confidence"] == top[method], method
            else:  # posterior methods weigh a strong class prior against few answers: only a clear win
                assert obj.metadata["confidence"] > 0.5, method


def test_aws_lets_the_class_prior_overrule_an_isolated_pair():
    # AWS's algorithm as documented: the class prior is the mean posterior and a worker's accuracy is
    # its own answers' posterior mass, so two workers seen once together slide to chance and the
    # majority class wins. Our dawid-skene pulls them toward the crowd's accuracy instead.
    table = {
        "0": [("w0", "Duck"), ("w1", "Duck")],
        "1": [("w2", "Goose"), ("w3", "Goose")],
        "2": [("w0", "Duck"), ("w1", "Duck")],
        "3": [("w0", "Duck"), ("w1", "Duck")],
    }
    aws = {o.dataset_object_id: o for o in run(table, NAMES[:2], "aws-modified-dawid-skene").objects}
    assert aws["1"].metadata["class-name"] == "Duck"
    ours = {o.dataset_object_id: o for o in run(table, NAMES[:2], "dawid-skene").objects}
    assert ours["1"].metadata["class-name"] == "Goose"
    assert ours["1"].metadata["confidence"] >= 0.95


@SETTINGS
@given(batches(unanimous=True, min_answers=2))
def test_aws_unanimous_objects_get_the_0_95_cap_when_they_win(batch):
    classes, table = batch
    for obj in run(table, classes, "aws-modified-dawid-skene").objects:
        if obj.metadata["class-name"] == table[obj.dataset_object_id][0][1]:
            assert obj.metadata["confidence"] == 0.95


@SETTINGS
@given(batches(), st.sampled_from(NAMES))
def test_object_all_workers_agree_on_has_the_batch_top_confidence(batch, label):
    classes, table = batch
    label = label if label in classes else classes[0]
    everyone = sorted({w for rows in table.values() for w, _ in rows})
    table = {**table, "all": [(w, label) for w in everyone]}
    for method in ("majority-vote", "weighted-vote"):  # for Dawid-Skene a rare answer can be more telling
        got = {o.dataset_object_id: o.metadata for o in run(table, classes, method).objects}
        assert got["all"]["class-name"] == label
        assert got["all"]["confidence"] == max(m["confidence"] for m in got.values())


@SETTINGS
@given(batches(), st.permutations(range(len(NAMES))), st.randoms(use_true_random=False))
def test_renaming_and_reordering_classes_permutes_the_result(batch, order, rnd):
    classes, table = batch
    renamed = {c: f"class-{rnd.randrange(10**6)}-{i}" for i, c in enumerate(classes)}
    new_categories = [renamed[classes[i]] for i in order if i < len(classes)]
    new_table = {oid: [(w, renamed[c]) for w, c in rows] for oid, rows in table.items()}
    for method in SINGLE:
        before = run(table, classes, method).objects
        after = run(new_table, new_categories, method).objects
        for a, b in zip(before, after, strict=True):
            voted = {c for _, c in table[a.dataset_object_id]}
            if a.metadata["class-name"] in voted:
                assert renamed[a.metadata["class-name"]] == b.metadata["class-name"], method
            # else: a tie among classes nobody answered, which falls back to class order (documented)
            assert b.label == new_categories.index(b.metadata["class-name"])
            assert abs(a.metadata["confidence"] - b.metadata["confidence"]) <= 0.01 + 1e-9, method
            assert a.agreement == b.agreement


@st.composite
def clear_majorities(draw):
    k = draw(st.integers(2, len(NAMES)))
    classes = NAMES[:k]
    honest = [f"h{i}" for i in range(6)]
    noisy = ["n0", "n1", "n2"]
    table = {}
    for oid in range(draw(st.integers(1, 10))):
        label = draw(st.sampled_from(classes))
        majority = draw(st.lists(st.sampled_from(honest), min_size=3, max_size=6, unique=True))
        # Clear: the majority still leads by two votes once the spammer has voted against it. A lead
        # of one is no proof: EM may rightly trust a spammer who happened to agree on every other object.
        minority = draw(st.lists(st.sampled_from(noisy), max_size=min(3, len(majority) - 3), unique=True))
        rows = [(w, label) for w in majority]
        rows += [(w, draw(st.sampled_from([c for c in classes if c != label]))) for w in minority]
        table[str(oid)] = draw(st.permutations(rows))
    return classes, table


@SETTINGS
@given(clear_majorities(), st.data())
def test_a_spammer_does_not_flip_a_clear_majority(batch, data):
    classes, table = batch
    spammed = {oid: [*rows, ("spammer", data.draw(st.sampled_from(classes)))] for oid, rows in table.items()}
    majority = {oid: max(set(c for _, c in rows), key=[c for _, c in rows].count) for oid, rows in table.items()}
    for method in SINGLE:
        for obj in run(spammed, classes, method).objects:
            assert obj.metadata["class-name"] == majority[obj.dataset_object_id], method


boxes = st.lists(
    st.tuples(
        st.integers(0, 500),
        st.integers(0, 500),
        st.integers(5, 200),
        st.integers(5, 200),
        st.sampled_from(NAMES),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda b: b[:4],
)


@SETTINGS
@given(
    boxes,
    st.integers(1, 5),
    st.sampled_from(METHODS[TaskType.OBJECT_DETECTION]),
    st.randoms(use_true_random=False),
)
def test_identical_boxes_from_all_workers_fuse_to_that_box(drawn, workers, method, rnd):
    def answer(w):
        own = [{"label": c, "left": x, "top": y, "width": wd, "height": h} for x, y, wd, h, c in drawn]
        rnd.shuffle(own)
        return {"workerId": f"w{w}", "answerContent": {"boundingBox": {"boundingBoxes": own}}}

    objects = {"1": [answer(w) for w in range(workers)]}
    result = consolidate(
        "object-detection",
        objects,
        label_attribute_name="b",
        job_name="j",
        categories=list(NAMES),
        method=method,
    )
    (obj,) = result.objects
    got = sorted((a["left"], a["top"], a["width"], a["height"], NAMES[a["class_id"]]) for a in obj.label["annotations"])
    assert got == sorted(drawn)
    assert obj.metadata["objects"] == [{"confidence": 1.0}] * len(drawn)
    assert obj.agreement == 1.0


spans = st.lists(st.tuples(st.integers(0, 20), st.integers(1, 8), st.sampled_from(NAMES)), min_size=1, max_size=5)


@SETTINGS
@given(spans, st.integers(1, 5))
def test_identical_entities_from_all_workers_are_kept(drawn, workers):
    # Lay the spans end to end so they do not overlap.
    entities, at = [], 0
    for gap, length, label in drawn:
        entities.append({"label": label, "startOffset": at + gap, "endOffset": at + gap + length})
        at += gap + length
    objects = {
        "1": [
            {"workerId": f"w{w}", "answerContent": {"crowd-entity-annotation": {"entities": entities}}}
            for w in range(workers)
        ]
    }
    (obj,) = consolidate("text-span", objects, label_attribute_name="n", job_name="j").objects
    assert obj.label["annotations"]["entities"] == entities
    assert obj.metadata["entities"] == [{"confidence": 1.0}] * len(entities)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.sampled_from([1, 2, 3, 4]),
    st.lists(st.integers(0, 4), min_size=9, max_size=9),
    st.integers(0, 2**32 - 1),
)
def test_png_round_trip_any_filters(height, width, channels, filters, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    assert (decode_png(encode_png(pixels, row_filter=filters[:height])) == pixels).all()
