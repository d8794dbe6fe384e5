"""Single-label classification (image, text, label verification): vectorised over all answers of a batch.

Every method returns a posterior-like matrix (objects x classes) and picks the label from it.

Tie-breaking (all methods): among the classes whose score is within 1e-6 of the best, the one that
received the earliest answer of that object (answer order as given) wins; if none of them was voted
for (possible in the Dawid-Skene family), the lowest class index. Only that last fallback depends on
class order: otherwise renaming or reordering classes only permutes the result, bit for bit (sums over
classes are taken in sorted order, see _class_sum).
"""

from __future__ import annotations

import msgspec
import numpy as np

_TIE_TOL = 1e-6  # EM stops at a tolerance: closer posteriors are not a real preference
_FLOOR = 1e-12


class Votes(msgspec.Struct, frozen=True):
    """All answers of a batch, sorted by object (stable, so answer order is kept within an object)."""

    obj: np.ndarray  # (N,) object index
    worker: np.ndarray  # (N,) worker index
    label: np.ndarray  # (N,) class index
    n_objects: int
    n_workers: int
    n_classes: int
    starts: np.ndarray  # (I,) first answer of each object; every object has at least one answer

    @classmethod
    def build(
        cls,
        obj: np.ndarray,
        worker: np.ndarray,
        label: np.ndarray,
        n_objects: int,
        n_workers: int,
        n_classes: int,
    ) -> Votes:
        obj, worker, label = (np.asarray(a, np.int64) for a in (obj, worker, label))
        order = np.argsort(obj, kind="stable")
        obj, worker, label = obj[order], worker[order], label[order]
        counts = np.bincount(obj, minlength=n_objects)
        if counts.size != n_objects or (counts == 0).any():
            raise ValueError("every object needs at least one answer")
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        return cls(obj, worker, label, n_objects, n_workers, n_classes, starts)

    def answers_per_object(self) -> np.ndarray:
        return np.diff(np.append(self.starts, self.obj.size))

    def class_counts(self, weights: np.ndarray | None = None) -> np.ndarray:
        k = self.n_classes
        return np.bincount(self.obj * k + self.label, weights=weights, minlength=self.n_objects * k).reshape(
            self.n_objects, k
        )

    def soft_confusion(self, posterior: np.ndarray) -> np.ndarray:
        """(W, K, K) expected counts [worker, true class, answered class] under the posterior."""
        k, w = self.n_classes, self.n_workers
        key = self.worker * k + self.label
        per_answer = posterior[self.obj]
        out = np.empty((w * k, k))
        for t in range(k):
            out[:, t] = np.bincount(key, weights=per_answer[:, t], minlength=w * k)
        return out.reshape(w, k, k).transpose(0, 2, 1)

    def log_likelihood_terms(self, log_confusion: np.ndarray) -> np.ndarray:
        """(I, K): sum over an object's answers of log confusion[worker, true class, answered]."""
        k, w = self.n_classes, self.n_workers
        table = log_confusion.transpose(0, 2, 1).reshape(w * k, k)
        return np.add.reduceat(table[self.worker * k + self.label], self.starts, axis=0)


class SingleLabelOutput(msgspec.Struct, frozen=True):
    labels: np.ndarray  # (I,) class index
    posterior: np.ndarray  # (I, K)
    confidence: np.ndarray  # (I,) before rounding
    worker_accuracy: np.ndarray | None = None  # (W,) model estimate (Dawid-Skene family only)
    held_out: np.ndarray | None = None  # (len(TEMPERATURES),) this batch's held-out answer log-likelihoods
    mixture: np.ndarray | None = None  # (len(MIXTURE_SHARES), len(MIXTURE_CONCENTRATIONS)) evidence, see below


def pick_labels(scores: np.ndarray, votes: Votes) -> np.ndarray:
    """Argmax with the documented tie-break (earliest-voted tied class, else lowest index)."""
    top = scores.max(axis=1, keepdims=True)
    tied = scores >= top - _TIE_TOL
    labels = tied.argmax(axis=1)
    multi = tied.sum(axis=1) > 1
    if multi.any():
        k = votes.n_classes
        position = np.arange(votes.obj.size)
        first: np.ndarray = np.full(votes.n_objects * k, votes.obj.size, np.int64)
        np.minimum.at(first, votes.obj * k + votes.label, position)
        first = first.reshape(votes.n_objects, k)
        candidate = np.where(tied, first, votes.obj.size)
        voted = candidate.min(axis=1) < votes.obj.size
        take = multi & voted
        labels[take] = candidate[take].argmin(axis=1)
    return labels


def _single_class(votes: Votes) -> SingleLabelOutput:
    ones = np.ones(votes.n_objects)
    return SingleLabelOutput(np.zeros(votes.n_objects, np.int64), ones[:, None].copy(), ones)


def _class_sum(values: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """Sum along a class axis in sorted order. Floating-point sums depend on order; sorting first makes
    every method exactly equivariant under reordering classes (EM can amplify the last bit of a
    symmetric tie into a different label otherwise)."""
    return np.sort(values, axis=axis).sum(axis=axis, keepdims=keepdims)


def _trace(matrices: np.ndarray) -> np.ndarray:
    return _class_sum(np.diagonal(matrices, axis1=1, axis2=2))


def _matrix_sum(matrices: np.ndarray) -> np.ndarray:
    return _class_sum(matrices.reshape(matrices.shape[0], -1))


def _softmax_rows(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row softmax and the row log-normaliser."""
    top = scores.max(axis=1, keepdims=True)
    e = np.exp(scores - top)
    z = _class_sum(e, axis=1, keepdims=True)
    return e / z, (top + np.log(z))[:, 0]


def majority_vote(votes: Votes) -> SingleLabelOutput:
    """Most answers wins; confidence = winning share of the answers (AWS's baseline)."""
    if votes.n_classes == 1:
        return _single_class(votes)
    counts = votes.class_counts()
    share = counts / counts.sum(axis=1, keepdims=True)
    labels = pick_labels(share, votes)
    return SingleLabelOutput(labels, share, share[np.arange(votes.n_objects), labels])


def _log_odds(accuracy: np.ndarray, k: int) -> np.ndarray:
    # One-coin model: an answer for class c multiplies P(c) by (k-1) a / (1-a) relative to the others.
    # Workers at or below chance (a <= 1/k) get weight 0 rather than a negative one.
    a = np.clip(accuracy, 1.0 / k, 0.99)
    return np.maximum(np.log((k - 1) * a / (1 - a)), 0.0)


def weighted_vote(
    votes: Votes, prior_agreement: np.ndarray, prior_answered: np.ndarray, max_iter: int = 10
) -> SingleLabelOutput:
    """Votes weighted by each worker's log-odds of being right (one-coin model), iterated to a fixed point.

    A worker's accuracy is estimated from leave-one-out agreement (their own vote removed) on objects
    with more than one answer, plus the carried state, under a Beta(2, 1) prior (mean 2/3).
    Confidence = softmax of the weighted scores, i.e. the one-coin posterior with uniform class prior.
    """
    if votes.n_classes == 1:
        return _single_class(votes)
    k, n = votes.n_classes, votes.obj.size
    informative = votes.answers_per_object()[votes.obj] > 1
    rows = np.arange(n)
    weights = _log_odds((prior_agreement + 2) / (prior_answered + 3), k)
    for _ in range(max_iter):
        scores = votes.class_counts(weights[votes.worker])
        loo = scores[votes.obj]
        own = loo[rows, votes.label] - weights[votes.worker]
        loo[rows, votes.label] = -np.inf
        best_other = loo.max(axis=1)
        agree = np.where(own > best_other + _TIE_TOL, 1.0, np.where(own >= best_other - _TIE_TOL, 0.5, 0.0))
        agree_sum = np.bincount(votes.worker, weights=agree * informative, minlength=votes.n_workers)
        seen = np.bincount(votes.worker, weights=informative.astype(float), minlength=votes.n_workers)
        new_weights = _log_odds((prior_agreement + agree_sum + 2) / (prior_answered + seen + 3), k)
        converged = np.allclose(new_weights, weights, atol=1e-6)
        weights = new_weights
        if converged:
            break
    scores = votes.class_counts(weights[votes.worker])
    posterior, _ = _softmax_rows(scores)
    labels = pick_labels(posterior, votes)
    return SingleLabelOutput(labels, posterior, posterior[np.arange(votes.n_objects), labels])


def _confusion_prior(k: int, diagonal: float, off_diagonal: float) -> np.ndarray:
    return np.where(np.eye(k, dtype=bool), diagonal, off_diagonal / (k - 1))


def _one_coin(accuracy: np.ndarray | float, k: int) -> np.ndarray:
    """(…, K, K) matrices with `accuracy` on the diagonal and the rest spread evenly."""
    a = np.asarray(accuracy, np.float64)[..., None, None]
    return np.where(np.eye(k, dtype=bool), a, (1 - a) / (k - 1))


def _worker_prior(accuracy: np.ndarray, expected: np.ndarray, crowd_error_prior: float | None) -> np.ndarray:
    """(W, K, K): accuracy on the diagonal, the rest spread like the crowd's errors per true class."""
    k = expected.shape[1]
    if crowd_error_prior is None:
        return _one_coin(accuracy, k)
    off_diagonal = ~np.eye(k, dtype=bool)
    errors = np.where(off_diagonal, expected.sum(axis=0) + crowd_error_prior, 0.0)
    errors /= _class_sum(errors, axis=1, keepdims=True)
    a = np.asarray(accuracy, np.float64)[:, None, None]
    return np.where(off_diagonal, (1 - a) * errors, a)


def dawid_skene(
    votes: Votes,
    prior_confusion: np.ndarray | None = None,
    *,
    one_coin_strength: float = 100.0,
    crowd_strength: float = 10.0,
    crowd_error_prior: float | None = 1.0,
    diagonal_prior: float = 0.0,
    off_diagonal_prior: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-7,
) -> SingleLabelOutput:
    """Dawid-Skene EM with a full confusion matrix per worker (MAP estimate).

    - start: posteriors = majority-vote shares;
    - M-step: class prior = mean posterior (+1 smoothing); confusion[w] = row-normalised
      expected counts + carried counts of earlier batches
      + `one_coin_strength` pseudo-answers per row spread like the worker's prior matrix: its overall
        accuracy a_w on the diagonal and 1 - a_w spread over the other classes the way the whole crowd's
        errors for that true class are spread (pooled expected counts + `crowd_error_prior` per cell;
        None spreads them evenly, the plain one-coin model). So a worker with few answers behaves like
        a weighted voter who makes the crowd's usual mistakes (a Duck taken for a Goose, not for an
        Owl), and one with many answers gets a full confusion matrix of their own. a_w is pulled toward
        the pooled crowd accuracy by `crowd_strength` pseudo-answers: otherwise a worker seen on one
        object only can slide to chance accuracy and let the class prior overrule a unanimous answer;
      + a fixed Dirichlet prior (`diagonal_prior` on the diagonal, `off_diagonal_prior` spread over a row);
    - E-step: posterior ∝ class prior x product of the answering workers' confusion rows;
    - stop when the relative change of the log-likelihood is below `tol` or after `max_iter` rounds.
    Confidence = the label's posterior. Both strengths were picked on the simulated crowds of
    benchmarks/consolidation_quality.py (one-coin 10..120 all beat the unshrunk model, 60..120 best;
    crowd 2..20 equal in accuracy, 10 best calibrated). Spreading errors like the crowd's rather than
    evenly matters when mistakes cluster on look-alike classes: evenly spread, a 3-2 split between two
    look-alikes reads as near-certain (see the "look-alike" scenarios there); `crowd_error_prior` from
    0.5 to 10 gives the same figures.
    """
    if crowd_error_prior is not None and crowd_error_prior <= 0:
        raise ValueError("crowd_error_prior must be positive (a class nobody got wrong needs a spread)")
    if votes.n_classes == 1:
        return _single_class(votes)
    posterior, confusion, log_prior = _dawid_skene_em(
        votes,
        prior_confusion,
        one_coin_strength,
        crowd_strength,
        crowd_error_prior,
        diagonal_prior,
        off_diagonal_prior,
        max_iter,
        tol,
    )
    labels = pick_labels(posterior, votes)
    accuracy = np.einsum("t,wtt->w", np.exp(log_prior), confusion)
    return SingleLabelOutput(labels, posterior, posterior[np.arange(votes.n_objects), labels], accuracy)


def _dawid_skene_em(
    votes: Votes,
    prior_confusion: np.ndarray | None,
    one_coin_strength: float,
    crowd_strength: float,
    crowd_error_prior: float | None,
    diagonal_prior: float,
    off_diagonal_prior: float,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM of dawid_skene: (posterior, confusion, log class prior)."""
    k, w = votes.n_classes, votes.n_workers
    fixed = _confusion_prior(k, diagonal_prior, off_diagonal_prior)
    carried = np.zeros((w, k, k)) if prior_confusion is None else prior_confusion.astype(np.float64)
    counts = votes.class_counts()
    posterior = counts / counts.sum(axis=1, keepdims=True)
    previous = None
    for _ in range(max_iter):
        class_weight = posterior.sum(axis=0) + 1.0
        log_prior = np.log(class_weight / _class_sum(class_weight))
        expected = votes.soft_confusion(posterior) + carried
        pseudo = fixed
        if one_coin_strength:
            right, answered = _trace(expected), _matrix_sum(expected)
            crowd = (right.sum() + 2.0) / (answered.sum() + 3.0)
            accuracy = (right + crowd_strength * crowd) / (answered + crowd_strength)
            pseudo = fixed + one_coin_strength * _worker_prior(accuracy, expected, crowd_error_prior)
        smoothed = expected + pseudo
        confusion = smoothed / _class_sum(smoothed, axis=2, keepdims=True)
        posterior, log_norm = _softmax_rows(votes.log_likelihood_terms(np.log(confusion)) + log_prior)
        log_likelihood = float(log_norm.sum())
        if previous is not None and abs(log_likelihood - previous) <= tol * abs(previous):
            break
        previous = log_likelihood
    return posterior, confusion, log_prior


def dawid_skene_classic(votes: Votes, prior_confusion: np.ndarray | None = None) -> SingleLabelOutput:
    """Plain Dawid-Skene: no one-coin shrinkage, only a weak Dirichlet prior (2 on the diagonal, 1 spread)."""
    return dawid_skene(votes, prior_confusion, one_coin_strength=0.0, diagonal_prior=2.0, off_diagonal_prior=1.0)


def aws_modified_dawid_skene(
    votes: Votes,
    prior_confusion: np.ndarray | None = None,
    *,
    max_epochs: int = 20,
    min_relative_change: float = 1e-8,
    initial_accuracy: float = 0.7,
    confidence_cap: float | None = 0.95,
) -> SingleLabelOutput:
    """AWS's "Modified Dawid-Skene" (section 3 of the format reference), as we read its description:

    - every worker starts from a K x K matrix with 0.7 on the diagonal, 0.3/(K-1) elsewhere (a worker
      with carried counts starts from those counts, smoothed by that matrix); posteriors start uniform;
    - E-step: posterior ∝ mean of the current posteriors (class prior) x the workers' confusion rows;
    - M-step: expected counts (+ carried counts); worker accuracy a_w = trace / n_w, where n_w is the
      worker's answer count; confusion = row-normalise(counts + n_w * one-coin(a_w) [worker prior]
      + n_w/2 * one-coin(c) [crowd prior]); then c = mean worker accuracy (c starts at 0.7);
    - at most 20 epochs; stop when the relative log-likelihood change is below 1e-8.
    Confidence = max posterior, capped at `confidence_cap`: real Ground Truth output never exceeded
    0.95 (an observation, not documented; None disables the cap).
    """
    if votes.n_classes == 1:
        return _single_class(votes)
    k, w = votes.n_classes, votes.n_workers
    init = _one_coin(initial_accuracy, k)
    carried = np.zeros((w, k, k)) if prior_confusion is None else prior_confusion.astype(np.float64)
    carried_n = carried.sum(axis=(1, 2))
    n = np.bincount(votes.worker, minlength=w) + carried_n
    confusion = (carried + init) / _class_sum(carried + init, axis=2, keepdims=True)
    crowd = float(np.mean(_trace(confusion) / k)) if carried_n.any() else initial_accuracy
    posterior = np.full((votes.n_objects, k), 1.0 / k)
    previous = None
    for _ in range(max_epochs):
        # Floors: an accuracy of exactly 1 would put log(0) into the next E-step.
        log_prior = np.log(np.maximum(posterior.mean(axis=0), _FLOOR))
        log_confusion = np.log(np.maximum(confusion, _FLOOR))
        posterior, log_norm = _softmax_rows(votes.log_likelihood_terms(log_confusion) + log_prior)
        log_likelihood = float(log_norm.sum())
        expected = votes.soft_confusion(posterior) + carried
        accuracy = _trace(expected) / np.maximum(n, 1)
        smoothed = expected + n[:, None, None] * _one_coin(accuracy, k) + (n[:, None, None] / 2) * _one_coin(crowd, k)
        confusion = smoothed / _class_sum(smoothed, axis=2, keepdims=True)
        crowd = float(accuracy.mean())
        if previous is not None and abs(log_likelihood - previous) < min_relative_change * abs(previous):
            break
        previous = log_likelihood
    labels = pick_labels(posterior, votes)
    confidence = posterior[np.arange(votes.n_objects), labels]
    if confidence_cap is not None:
        confidence = np.minimum(confidence, confidence_cap)
    class_prior = posterior.mean(axis=0)
    estimated = np.einsum("t,wtt->w", class_prior, confusion)
    return SingleLabelOutput(labels, posterior, confidence, estimated)


TEMPERATURES = np.exp(np.linspace(0.0, np.log(20.0), 60))  # 1 .. 20, log-spaced


def _with_job_balance(
    votes: Votes, posterior: np.ndarray, prior_confusion: np.ndarray | None, log_prior: np.ndarray
) -> np.ndarray:
    """The class prior given this batch's posteriors and the job's earlier labels (each carried
    answer counted for its object's label, divided by this batch's answers per object), applied
    after EM. A batch alone is too little to learn the balance from: one object's fit has a near
    uniform prior, and with a crowd's asymmetric errors (matches missed more than non-matches
    flagged) that tilts its splits (product matching live: 0.894 accurate without, 0.931 with, 0.938
    in batch). After EM, not inside it: inside, a strong prior sways the object's posterior, which
    then enters its own workers' confusion rows and confirms itself (0.897 on the first 3,000)."""
    if prior_confusion is None or not prior_confusion.any():
        return log_prior
    carried = prior_confusion.sum(axis=(0, 2)) * (votes.n_objects / votes.obj.size)
    weight = posterior.sum(axis=0) + 1.0 + carried
    return np.asarray(np.log(weight / _class_sum(weight)))


def held_out_log_likelihood(votes: Votes, prior_confusion: np.ndarray | None = None, folds: int = 5) -> np.ndarray:
    """(len(TEMPERATURES),): summed log-probability of held-out answers under each temperature.

    The answers are split into `folds` folds (answer position modulo `folds`, so no randomness); for
    each fold plain Dawid-Skene is fitted on the other answers (plus the carried counts), and each
    held-out answer is predicted as sum_c P_T(c | the object's training answers) confusion[w, c, answer].
    On one object (the pipeline's live call) the folds are that object's answers: its other answers
    and the job's carried counts predict each one, so every object adds its own honest evidence.
    """
    fit = (prior_confusion, 0.0, 0.0, None, 2.0, 1.0, 100, 1e-7)
    k, n = votes.n_classes, votes.obj.size
    fold = np.arange(n) % folds
    out = np.zeros(TEMPERATURES.size)
    for j in range(folds):
        train, test = fold != j, fold == j
        present = np.unique(votes.obj[train])
        if not test.any() or present.size == 0:
            continue
        remap = np.full(votes.n_objects, -1, np.int64)
        remap[present] = np.arange(present.size)
        sub = Votes.build(
            remap[votes.obj[train]], votes.worker[train], votes.label[train], present.size, votes.n_workers, k
        )
        posterior, confusion, log_prior = _dawid_skene_em(sub, *fit)
        log_prior = _with_job_balance(sub, posterior, prior_confusion, log_prior)
        terms = np.zeros((votes.n_objects, k))
        terms[present] = sub.log_likelihood_terms(np.log(confusion))
        own = confusion[votes.worker[test], :, votes.label[test]]
        held = terms[votes.obj[test]]
        for a, temperature in enumerate(TEMPERATURES):
            p, _ = _softmax_rows((held + log_prior) / temperature)
            out[a] += np.log(np.maximum(_class_sum(p * own, axis=1), _FLOOR)).sum()
    return out


def dawid_skene_tempered(
    votes: Votes,
    prior_confusion: np.ndarray | None = None,
    prior_held_out: np.ndarray | None = None,
    *,
    folds: int = 5,
) -> SingleLabelOutput:
    """Plain Dawid-Skene whose posterior is tempered by T >= 1 chosen without true labels: by the
    likelihood of held-out answers (held_out_log_likelihood), summed over this batch and the job's
    earlier batches (`prior_held_out`, carried in the quality state).

    Why: real crowds' errors correlate (hard items, shared look-alikes), so an object's answers are
    less than independent proofs and the point-estimate posterior is overconfident. Held-out answers
    measure how much. The posterior is the full-data fit's, tempered: posterior ∝ (class prior x
    likelihood)^(1/T). Tempering the whole posterior keeps its argmax, so the labels are plain
    Dawid-Skene's and only the confidences change (tempering the likelihood alone would let the class
    prior overrule a clear majority). T = 1 (no change) when the answers are as independent as the
    model assumes. Carrying the evidence lets the pipeline, which consolidates one object at a time,
    choose T from the whole job so far rather than from one object's handful of answers.
    """
    if votes.n_classes == 1:
        return _single_class(votes)
    return _tempered(votes, prior_confusion, prior_held_out, folds)[0]


def _tempered(
    votes: Votes, prior_confusion: np.ndarray | None, prior_held_out: np.ndarray | None, folds: int
) -> tuple[SingleLabelOutput, np.ndarray, np.ndarray]:
    """dawid_skene_tempered's output and the full fit's log class prior and confusion matrices."""
    held_out = held_out_log_likelihood(votes, prior_confusion, folds)
    total = held_out if prior_held_out is None else held_out + prior_held_out
    temperature = float(TEMPERATURES[total.argmax()]) if total.any() else 1.0
    posterior, confusion, log_prior = _dawid_skene_em(votes, prior_confusion, 0.0, 0.0, None, 2.0, 1.0, 100, 1e-7)
    log_prior = _with_job_balance(votes, posterior, prior_confusion, log_prior)
    posterior, _ = _softmax_rows((votes.log_likelihood_terms(np.log(confusion)) + log_prior) / temperature)
    labels = pick_labels(posterior, votes)
    accuracy = np.einsum("t,wtt->w", np.exp(log_prior), confusion)
    confidence = posterior[np.arange(votes.n_objects), labels]
    return SingleLabelOutput(labels, posterior, confidence, accuracy, held_out), log_prior, confusion


# Grid of dawid-skene-mixture's two parameters: the share of ambiguous items and the concentration of
# their answer distributions (small: an ambiguous item's answers cluster on one or two classes).
MIXTURE_SHARES = np.linspace(0.0, 0.9, 10)
MIXTURE_CONCENTRATIONS = np.exp(np.linspace(np.log(0.05), np.log(100.0), 12))
_RHO_PRIOR = 10.0


def _rising_log(base: np.ndarray, n: int) -> np.ndarray:
    """log Gamma(base + n) - log Gamma(base) for an integer n, numpy only: sum_j<n log(base + j)."""
    out = np.zeros(base.shape)
    for j in range(n):
        out += np.log(base + j)
    return out


_CHUNK = 1 << 18  # floats per intermediate block: bounds memory whatever the number of classes


def _log_class_sum(log_values: np.ndarray, axis: int = 1) -> np.ndarray:
    top = log_values.max(axis=axis, keepdims=True)
    return np.squeeze(np.log(_class_sum(np.exp(log_values - top), axis=axis, keepdims=True)) + top, axis=axis)


def _conditional_ambiguous_terms(counts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(I, K, S): log-probability of each object's answers given true class k when its answer
    distribution is drawn from Dirichlet(s x the crowd's confusion row of k). Only the classes an
    object's answers name contribute, so the work is (answers x classes x S), as an E-step's."""
    s = MIXTURE_CONCENTRATIONS
    n_objects, k = counts.shape
    total = counts.sum(axis=1)
    out = np.zeros((n_objects, k, s.size))
    for n in np.unique(total):
        at = total == n
        out[at] -= _rising_log(s[None, :], int(n))[:, None, :]
    obj, answered = np.nonzero(counts)
    times = counts[obj, answered].astype(np.int64)
    step = max(1, _CHUNK // (k * s.size))
    for n in np.unique(times):
        picked = np.flatnonzero(times == n)
        for start in range(0, picked.size, step):
            chunk = picked[start : start + step]
            base = s[None, None, :] * rows.T[answered[chunk]][:, :, None]  # (m, K true, S)
            np.add.at(out, obj[chunk], _rising_log(base, int(n)))
    return out


def dawid_skene_mixture(
    votes: Votes,
    prior_confusion: np.ndarray | None = None,
    prior_held_out: np.ndarray | None = None,
    prior_mixture: np.ndarray | None = None,
    *,
    folds: int = 5,
) -> SingleLabelOutput:
    """dawid-skene-tempered's posterior mixed with a model of ambiguous objects, whose answers correlate.

    Each object is clear (probability 1 - rho: its answers independent draws from the workers'
    Dawid-Skene confusion rows of the true class) or ambiguous (probability rho): its answer distribution theta
    is drawn once for the object from Dirichlet(s x the crowd's confusion row of the true class), and
    all its answers from theta (a Dirichlet-multinomial: the answers agree with each other more than
    with the truth, so a 7-3 split weighs less than seven independent proofs). s -> infinity is the
    clear model with crowd-average workers, so independent answers give rho ~ 0. rho and s are chosen
    on a grid by the summed marginal likelihood of the answers, the clear one under plain
    Dawid-Skene's fit, summed over this batch and the job's earlier ones (`prior_mixture`, carried
    in the quality state as `heldOut` is), under a Beta(1, 10) prior on rho. Then

        P(class k | answers) = P(clear | answers) P_T(k | answers) + P(ambiguous | answers) P_s(k | answers)

    with P_T the tempered posterior of dawid_skene_tempered and P_s the Dirichlet-multinomial one.
    Labels are plain Dawid-Skene's argmax; only the confidences change. The confidence is the mixture
    probability of that label, so on an object whose mixture posterior ranks another class first the
    label is not the posterior's top class. Then two classes hold at least its probability each, so the
    confidence is at most 0.5 (5 of the real crowds' 9,706 objects, 4 of them labelled right; taking the
    posterior's top class instead cost 0.6 points on faces).

    Memory: the (objects x classes x 12 concentrations) float64 terms of the ambiguous model, with
    their temporaries, peak at about 330 bytes per object and class (130 MB for 8,000 objects of 50
    classes, against 45 MB for dawid_skene_tempered). The pipeline's live call holds one object.
    """
    if votes.n_classes == 1:
        return _single_class(votes)
    tempered, log_prior, confusion = _tempered(votes, prior_confusion, prior_held_out, folds)
    counts = votes.class_counts()
    clear = votes.log_likelihood_terms(np.log(confusion)) + log_prior  # (I, K), the untempered fit
    log_clear = _log_class_sum(clear)
    # The crowd's confusion rows: pooled expected counts of that fit and the carried counts
    plain, _ = _softmax_rows(clear)
    pooled = votes.soft_confusion(plain).sum(axis=0) + 1.0
    if prior_confusion is not None:
        pooled = pooled + prior_confusion.sum(axis=0)
    rows = pooled / _class_sum(pooled, axis=1, keepdims=True)
    by_class = _conditional_ambiguous_terms(counts, rows) + log_prior[None, :, None]  # (I, K, S)
    ambiguous = _log_class_sum(by_class, axis=1)  # (I, S)
    with np.errstate(divide="ignore"):
        log_rho, log_not = np.log(MIXTURE_SHARES), np.log1p(-MIXTURE_SHARES)
    evidence = np.logaddexp(
        log_not[:, None, None] + log_clear[None, :, None], log_rho[:, None, None] + ambiguous[None]
    ).sum(axis=1)  # (R, S)
    total = evidence if prior_mixture is None else evidence + prior_mixture
    # Beta(1, 10) prior on rho: most objects are clear until the answers of a few dozen say otherwise
    # (a handful of unanimous answers from unknown workers fit the correlated model well too).
    total = total + (_RHO_PRIOR - 1.0) * log_not[:, None]
    r, s = np.unravel_index(int(total.argmax()), total.shape)
    # P(ambiguous | answers), from the same likelihoods the grid point was chosen by
    odds = np.clip(log_rho[r] + ambiguous[:, s] - log_not[r] - log_clear, -700.0, 700.0)
    p_ambiguous = 1.0 / (1.0 + np.exp(-odds))
    correlated, _ = _softmax_rows(by_class[:, :, s])
    posterior = (1.0 - p_ambiguous)[:, None] * tempered.posterior + p_ambiguous[:, None] * correlated
    confidence = posterior[np.arange(votes.n_objects), tempered.labels]
    return SingleLabelOutput(
        tempered.labels, posterior, confidence, tempered.worker_accuracy, tempered.held_out, evidence
    )
