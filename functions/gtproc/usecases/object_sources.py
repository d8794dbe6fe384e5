"""The source of each object (`source-ref` or `source`) for `Annotations Consolidated`: from the job's
input manifest (line N is datasetObjectId N), else from the iteration's intermediate annotations.

Each file is read once per job for the life of the function instance; an intermediate file that does
not hold the object yet (it is written as the job runs) is looked for again a while after the miss.
"""

from __future__ import annotations

import msgspec

from gtproc.domain.keys import OutputKey
from gtproc.domain.sources import Source, sources_of_input_manifest, sources_of_intermediate
from gtproc.usecases.ports import JobInfo, ObjectMissing, ObjectTooLarge, ObjectUnreadable, SourceFiles

SOURCE_FILE_MAX_BYTES = 256 * 1024 * 1024  # an input manifest of a large job (one line per object)
SOURCE_MISS_RETRY_SECONDS = 60  # an intermediate annotations file not written yet: look again after this


def _read(files: SourceFiles, uri: str) -> bytes | None:
    """The file, or None when it will never be read (missing, denied, too large): the object is then
    published without its source. A transient error is raised, so the message is retried."""
    try:
        return files.read(uri, SOURCE_FILE_MAX_BYTES)
    except (ObjectMissing, ObjectUnreadable, ObjectTooLarge):
        return None


class ObjectSources:
    def __init__(self, files: SourceFiles) -> None:
        self.files = files
        self._jobs: dict[str, _JobSources] = {}  # by job id
        self.unknown = 0  # objects whose source could not be found, since the instance started

    def fields(self, bucket: str, location: OutputKey, info: JobInfo, object_id: str, now: float) -> dict[str, str]:
        """The event's `source_ref` or `source` field of the object; {} (and counted) when none is found."""
        job = self._jobs.setdefault(location.job_id(bucket), _JobSources())
        found = job.find(int(object_id), location.iteration, info, self.files, bucket, location, now)
        if found is None:
            self.unknown += 1
            return {}
        field_name, value = found
        return {"source_ref": value} if field_name == "sourceRef" else {"source": value}


class _JobSources(msgspec.Struct):
    """A job's sources by datasetObjectId: the input manifest, then each iteration's intermediate annotations."""

    manifest: dict[int, Source] | None = None  # None: not read yet
    intermediate: dict[int, dict[int, Source]] = msgspec.field(default_factory=dict)
    missed_at: dict[int, float] = msgspec.field(default_factory=dict)

    def find(
        self,
        index: int,
        iteration: int | None,
        info: JobInfo,
        files: SourceFiles,
        bucket: str,
        location: OutputKey,
        now: float,
    ) -> Source | None:
        if self.manifest is None:
            data = _read(files, info.input_manifest_uri) if info.input_manifest_uri else None
            self.manifest = sources_of_input_manifest(data) if data is not None else {}
        if index in self.manifest:
            return self.manifest[index]
        if iteration is None:
            return None
        known = self.intermediate.get(iteration)
        if (known is None or index not in known) and now - self.missed_at.get(iteration, -1e18) >= (
            SOURCE_MISS_RETRY_SECONDS
        ):
            uri = f"s3://{bucket}/{location.job_root}/annotations/intermediate/{iteration}/annotations.json"
            data = _read(files, uri)
            known = self.intermediate[iteration] = sources_of_intermediate(data) if data is not None else {}
            if index not in known:
                self.missed_at[iteration] = now
        return (known or {}).get(index)
