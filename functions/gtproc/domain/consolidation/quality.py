"""Worker quality carried across the batches of one job, and calibration figures.

QualityState is what a handler persists (e.g. one DynamoDB item per job and label attribute) between
iterations. It holds, per worker: answers counted, summed agreement with the consolidated labels and,
for single-label tasks, a confusion-count matrix counts[true_class, answered_class] of the worker's
answers against the consolidated label. Integer counts and the worker ids in one zlib-compressed base64
blob keep it compact: about 9 KB of JSON for 100 workers x 10 classes with 300 answers each, nearly
all of it the information itself (random 26-character worker ids, 10,000 small counts).
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import numpy as np

STATE_VERSION = 2  # 1: counts as plain uint32, worker ids in the clear
_AGREEMENT_SCALE = 100  # agreement sums are stored in hundredths


class QualityState(msgspec.Struct):
    family: str
    classes: tuple[str, ...]
    worker_ids: tuple[str, ...]
    answered: np.ndarray  # (W,) int64
    agreement: np.ndarray  # (W,) float64, sum of per-answer agreement in [0, 1]
    confusion: np.ndarray | None = None  # (W, K, K) int64 counts[true, answered]; single-label only
    # Summed held-out answer log-likelihood per temperature (single_label.TEMPERATURES) of the
    # job so far: how dawid-skene-tempered chooses T one object at a time. None until it runs.
    held_out: np.ndarray | None = None
    # Summed marginal answer log-likelihood over dawid-skene-mixture's grid (single_label.MIXTURE_SHARES
    # x MIXTURE_CONCENTRATIONS) of the job so far; None until it runs.
    mixture: np.ndarray | None = None

    @classmethod
    def empty(cls, family: str, classes: Sequence[str] = (), with_confusion: bool = False) -> QualityState:
        k = len(classes)
        return cls(
            family=family,
            classes=tuple(classes),
            worker_ids=(),
            answered=np.zeros(0, np.int64),
            agreement=np.zeros(0, np.float64),
            confusion=np.zeros((0, k, k), np.int64) if with_confusion else None,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (strings, numbers, lists). Worker ids and counts travel in one
        zlib-compressed base64 blob; each count array in the smallest unsigned width that holds it,
        byte-shuffled (all low bytes, then the next ones), which is what lets the counts compress."""
        w, k = len(self.worker_ids), len(self.classes)
        sections = [self.answered, np.rint(self.agreement * _AGREEMENT_SCALE)]
        if self.confusion is not None:
            sections.append(self.confusion.reshape(w * k * k))
        widths, chunks = [], []
        for values in sections:
            values = np.asarray(values, np.int64)
            if values.size and (values.min() < 0 or values.max() >= 2**32):
                raise ValueError("quality counts out of range")
            top = int(values.max()) if values.size else 0
            width = 1 if top < 2**8 else 2 if top < 2**16 else 4
            widths.append(width)
            chunks.append(values.astype(f"<u{width}").view(np.uint8).reshape(-1, width).T.tobytes())
        ids = json.dumps(list(self.worker_ids), separators=(",", ":")).encode()
        payload = struct.pack("<I", len(ids)) + ids + b"".join(chunks)
        # zlib level 6: within 1% of level 9's size, 2-2.5x faster (a state is saved for every object).
        doc = {
            "v": STATE_VERSION,
            "family": self.family,
            "classes": list(self.classes),
            "workers": w,
            "confusion": self.confusion is not None,
            "widths": widths,
            "data": base64.b64encode(zlib.compress(payload, 6)).decode("ascii"),
        }
        if self.held_out is not None:  # an added key: states written before it still load
            doc["heldOut"] = [round(float(x), 3) for x in self.held_out]
        if self.mixture is not None:  # added like heldOut, row by row
            doc["mixture"] = [[round(float(x), 3) for x in row] for row in np.atleast_2d(self.mixture)]
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> QualityState:
        if doc.get("v") != STATE_VERSION:
            raise ValueError(f"unsupported quality state version {doc.get('v')!r}")
        classes = tuple(doc["classes"])
        w, k = int(doc["workers"]), len(classes)
        sizes = [w, w] + ([w * k * k] if doc["confusion"] else [])
        widths = [int(x) for x in doc["widths"]]
        payload = zlib.decompress(base64.b64decode(doc["data"]))
        (id_length,) = struct.unpack("<I", payload[:4])
        workers = tuple(json.loads(payload[4 : 4 + id_length]))
        body = payload[4 + id_length :]
        if len(workers) != w or len(widths) != len(sizes) or len(body) != sum(map(int.__mul__, sizes, widths)):
            raise ValueError("quality state blob does not match its worker and class lists")
        sections, at = [], 0
        for size, width in zip(sizes, widths, strict=True):
            raw = np.frombuffer(body, np.uint8, size * width, at).reshape(width, size).T.copy()
            sections.append(raw.view(f"<u{width}").ravel().astype(np.int64))
            at += size * width
        return cls(
            family=str(doc["family"]),
            classes=classes,
            worker_ids=workers,
            answered=sections[0],
            agreement=sections[1] / _AGREEMENT_SCALE,
            confusion=sections[2].reshape(w, k, k) if doc["confusion"] else None,
            held_out=np.array(doc["heldOut"], np.float64) if doc.get("heldOut") is not None else None,
            mixture=np.array(doc["mixture"], np.float64) if doc.get("mixture") is not None else None,
        )

    def aligned(self, classes: Sequence[str], worker_ids: Sequence[str]) -> QualityState:
        """This state re-indexed to the given classes and workers (by name; unknown ones start at zero)."""
        classes, worker_ids = tuple(classes), tuple(worker_ids)
        w_pos = {wid: i for i, wid in enumerate(self.worker_ids)}
        c_pos = {c: i for i, c in enumerate(self.classes)}
        w_src = np.array([w_pos.get(wid, -1) for wid in worker_ids], np.int64)
        c_src = np.array([c_pos.get(c, -1) for c in classes], np.int64)
        have_w = w_src >= 0
        answered = np.zeros(len(worker_ids), np.int64)
        agreement = np.zeros(len(worker_ids), np.float64)
        answered[have_w] = self.answered[w_src[have_w]]
        agreement[have_w] = self.agreement[w_src[have_w]]
        confusion = None
        if self.confusion is not None:
            k = len(classes)
            confusion = np.zeros((len(worker_ids), k, k), np.int64)
            have_c = np.flatnonzero(c_src >= 0)
            if have_c.size and have_w.any():
                rows = np.flatnonzero(have_w)
                src = self.confusion[np.ix_(w_src[rows], c_src[have_c], c_src[have_c])]
                confusion[np.ix_(rows, have_c, have_c)] = src
        return QualityState(
            self.family, classes, worker_ids, answered, agreement, confusion, self.held_out, self.mixture
        )

    def worker_accuracy(self, smoothing: float = 1.0) -> np.ndarray:
        """Per-worker share of answers that matched the consolidated label, Laplace-smoothed."""
        return (self.agreement + smoothing) / (self.answered + 2 * smoothing)


def load_state(prior: QualityState | Mapping[str, Any] | None) -> QualityState | None:
    if prior is None or isinstance(prior, QualityState):
        return prior
    return QualityState.from_json(prior)


def expected_calibration_error(
    confidences: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, n_bins: int = 10
) -> float:
    """ECE with equal-width bins over [0, 1]: sum over bins of |accuracy - mean confidence| x bin share.

    Bins are right-closed (0.95 and 1.0 share the last bin), the first bin also holds 0.
    """
    conf = np.asarray(confidences, np.float64)
    hit = np.asarray(correct, np.float64)
    if conf.size == 0:
        return 0.0
    # The epsilon keeps values like 0.3 (0.3 * 10 = 3.0000000000000004) in their own right-closed bin.
    bins = np.clip(np.ceil(conf * n_bins - 1e-9).astype(np.int64) - 1, 0, n_bins - 1)
    total = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    hit_sum = np.bincount(bins, weights=hit, minlength=n_bins)
    used = total > 0
    gap = np.abs(hit_sum[used] - conf_sum[used])  # = count x |acc - conf|
    return float(gap.sum() / conf.size)
