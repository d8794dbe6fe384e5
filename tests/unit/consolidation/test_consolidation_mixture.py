"""dawid-skene-mixture: the share of ambiguous objects is learned from the shape of the vote splits."""

import json

import numpy as np
from gtproc.domain.consolidation import consolidate
from gtproc.domain.consolidation import single_label as sl
from gtproc.domain.consolidation.quality import QualityState, expected_calibration_error


def simulate(ambiguous_share, n_objects=400, n_workers=30, answers=7, k=3, accuracy=0.8, seed=1):
    """(votes, truth) from one-coin workers; an ambiguous object's answers all come from one answer
    distribution drawn from Dirichlet(2 x the one-coin row of its true class): correlated answers."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(k, size=n_objects)
    row = np.full((k, k), (1 - accuracy) / (k - 1)) + np.eye(k) * (accuracy - (1 - accuracy) / (k - 1))
    obj, worker, label = [], [], []
    for i in range(n_objects):
        theta = rng.dirichlet(2.0 * row[truth[i]]) if rng.random() < ambiguous_share else row[truth[i]]
        for w in rng.choice(n_workers, answers, replace=False):
            obj.append(i), worker.append(w), label.append(rng.choice(k, p=theta))
    votes = sl.Votes.build(np.array(obj), np.array(worker), np.array(label), n_objects, n_workers, k)
    return votes, truth


def chosen_share(out):
    r, _ = np.unravel_index(out.mixture.argmax(), out.mixture.shape)
    return sl.MIXTURE_SHARES[r]


def ece(out, truth):
    hit = out.labels == truth
    return expected_calibration_error(np.round(out.confidence, 2), hit)


def test_independent_answers_are_all_clear():
    votes, truth = simulate(0.0)
    mixed, tempered = sl.dawid_skene_mixture(votes), sl.dawid_skene_tempered(votes)
    assert chosen_share(mixed) == 0.0  # rho = 0: dawid-skene-tempered itself
    np.testing.assert_allclose(mixed.confidence, tempered.confidence)
    assert ece(mixed, truth) < 0.03


def test_correlated_answers_are_found_and_the_confidence_follows():
    votes, truth = simulate(0.5)
    mixed, tempered = sl.dawid_skene_mixture(votes), sl.dawid_skene_tempered(votes)
    assert 0.2 <= chosen_share(mixed) <= 0.7
    np.testing.assert_array_equal(mixed.labels, tempered.labels)  # only the confidences move
    assert ece(mixed, truth) < ece(tempered, truth) - 0.005  # measured 0.019 against 0.028


def answer(worker, label):
    return {"workerId": worker, "answerContent": {"crowd-image-classifier": {"label": label}}}


def run(objects, prior=None):
    return consolidate(
        "image-classification", objects, label_attribute_name="lan", job_name="j",
        method="dawid-skene-mixture", prior=prior,
    )  # fmt: skip


def test_evidence_is_carried_bounded_and_older_states_load_without_it():
    objects = {str(i): [answer(f"w{(i + j) % 6}", "ABC"[(i * j) % 4 % 3]) for j in range(4)] for i in range(40)}
    ids = list(objects)
    first = run({q: objects[q] for q in ids[:20]})
    doc = json.loads(json.dumps(first.quality.to_json()))
    assert np.array(doc["mixture"]).shape == (sl.MIXTURE_SHARES.size, sl.MIXTURE_CONCENTRATIONS.size)
    assert len(json.dumps(doc["mixture"])) < 2000  # whatever the job's size
    second = run({q: objects[q] for q in ids[20:]}, prior=doc)
    alone = run({q: objects[q] for q in ids[20:]})
    np.testing.assert_allclose(QualityState.from_json(doc).mixture, first.quality.mixture, atol=1e-3)
    # each batch adds its own evidence to the job's
    np.testing.assert_allclose(second.quality.mixture - first.quality.mixture, alone.quality.mixture, rtol=0.2)
    del doc["mixture"], doc["heldOut"]  # a state written before the method existed
    older = run({q: objects[q] for q in ids[20:]}, prior=doc)
    assert [o.label for o in older.objects] == [o.label for o in second.objects]
