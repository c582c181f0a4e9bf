"""Records on disk: the record schema, the append-only writer and the run
folder's files. Manifests are built in `contour.results.manifest`.

A reader of records.jsonl skips the lines `read_superseded` names (a resume
appended their replacements)."""

from contour.results.schema import (MANIFEST_FILE, RECORDS_FILE, STATS_FILE, SUPERSEDED_FILE,
                                    ResultRecord)
from contour.results.writer import (RecordWriter, read_manifest, read_superseded, records_path,
                                    write_json_atomic)

__all__ = [
    "MANIFEST_FILE", "RECORDS_FILE", "STATS_FILE", "SUPERSEDED_FILE", "RecordWriter", "ResultRecord",
    "read_manifest", "read_superseded", "records_path", "write_json_atomic",
]
