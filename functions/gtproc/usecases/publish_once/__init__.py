"""Exactly-once publishing, the heart of gtproc: each fact goes on the bus once, whatever the
redeliveries, races, kills and faults.

- Manifests (`session.py`): a run holds the job's lease, reads the job's ledger of what is out,
  journals each batch PutEvents accepted before it publishes more, and commits the new ledger.
- Annotations (`claims.py`, `AnnotationSession`): each object's event is claimed with its exact
  content, published, then marked; a dead invocation's claim is resumed with that same event.
"""

from gtproc.usecases.publish_once.claims import AnnotationSession, Claim, ClaimPending, PublishOnce
from gtproc.usecases.publish_once.session import JobSession, SessionTerms

__all__ = ["AnnotationSession", "Claim", "ClaimPending", "JobSession", "PublishOnce", "SessionTerms"]
