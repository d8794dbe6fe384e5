"""The ledger's own rules: what is known, what came back to its index, and its stored form."""

from __future__ import annotations

import zlib

import msgspec
from gtproc.domain.ledger import FactKey, FactKind, Ledger

LABELED = FactKind.LABELED


def test_an_index_remembers_the_objects_it_had() -> None:
    ledger = Ledger()
    ledger.add(FactKey(LABELED, "cats", 4, 10))
    ledger.add(FactKey(LABELED, "cats", 4, 20))

    assert ledger.known(LABELED, "cats", 4, 20) and not ledger.known(LABELED, "cats", 4, 10)
    assert ledger.seen_before(LABELED, "cats", 4, 10) and not ledger.seen_before(LABELED, "cats", 4, 20)
    assert not ledger.seen_before(LABELED, "dogs", 4, 10)  # per attribute
    assert ledger.count(LABELED) == 1  # one object at the index now

    ledger.add(FactKey(LABELED, "cats", 4, 10))  # back again: the other one is the earlier one now
    assert ledger.known(LABELED, "cats", 4, 10) and ledger.seen_before(LABELED, "cats", 4, 20)
    assert not ledger.seen_before(LABELED, "cats", 4, 10)


def test_the_earlier_objects_survive_the_stored_form() -> None:
    ledger = Ledger(version=3, own_attributes={"cats"})
    for print_ in (10, 20, 30, 20):
        ledger.add(FactKey(LABELED, "cats", 4, print_))
    ledger.add(FactKey(LABELED, "cats", 5, 7))

    again = Ledger.from_bytes(ledger.to_bytes())

    assert again.known(LABELED, "cats", 4, 20) and again.known(LABELED, "cats", 5, 7)
    assert again.seen_before(LABELED, "cats", 4, 10) and again.seen_before(LABELED, "cats", 4, 30)
    assert not again.seen_before(LABELED, "cats", 4, 20)
    assert again.to_bytes() == ledger.to_bytes()


def test_a_ledger_stored_before_earlier_objects_were_kept_still_loads() -> None:
    old = zlib.compress(msgspec.msgpack.encode([2, ["cats"], True, {"labeled": {"cats": [0, 1, 111, 222]}}]))

    ledger = Ledger.from_bytes(old)

    assert ledger.version == 2 and ledger.completed and ledger.own_attributes == {"cats"}
    assert ledger.known(LABELED, "cats", 1, 222) and not ledger.seen_before(LABELED, "cats", 1, 111)


def test_a_known_label_of_a_chained_manifest_marks_its_attribute_the_jobs_own() -> None:
    # A run that finds every label of its own already published (a retry after a killed run) still
    # knows which attribute is the job's: else the other job's attribute alone is seen, and the run
    # warns that the folder is misnamed and nothing was published.
    from pathlib import Path

    from gtproc.domain.detection import Detector
    from gtproc.domain.ledger import fingerprint
    from gtproc.domain.scan import scan_lines

    manifest = Path(__file__).resolve().parents[3] / "events" / "jobs" / "adjustment-chained"
    data = (manifest / "cars-bbox-adjust" / "manifests" / "output" / "output.manifest").read_bytes()
    lines = list(scan_lines([data]))
    ledger = Ledger()
    for line in lines:
        ledger.add(FactKey(FactKind.LABELED, "cars-bbox-adjust", line.index, fingerprint(line.source_ref)))
    ledger.own_attributes.clear()
    detector = Detector("cars-bbox-adjust", ledger)

    found = [finding for line in lines for finding in detector.observe(line)]

    assert found == []  # all published already
    assert ledger.own_attributes == {"cars-bbox-adjust"}
    assert detector.foreign == {"labeling-job/cars-bbox-first": {"cars-bbox-first"}}
