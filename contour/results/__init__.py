"""Records on disk: the record schema, the append-only writer, the one
reader (resume, live stats and evaluation all read through it), the one
tally (how records are counted), and the run folder's files. Manifests are
built in `contour.results.manifest`.

A reader of records.jsonl skips the lines `read_superseded` names (a resume
appended their replacements); `read_records` does so by default."""

from contour.results.reader import (DamagedLine, RecordLine, ignore_damaged, read_records,
                                    refuse_damaged, warn_damaged)
from contour.results.schema import (MANIFEST_FILE, RECORDS_FILE, SCHEMA_VERSION, STATS_FILE,
                                    SUPERSEDED_FILE, ResultRecord)
from contour.results.tally import Counts, RecordClass, Tally, classify
from contour.results.writer import (RecordWriter, read_manifest, read_superseded, records_path,
                                    write_json_atomic)

__all__ = [
    "MANIFEST_FILE", "RECORDS_FILE", "SCHEMA_VERSION", "STATS_FILE", "SUPERSEDED_FILE", "Counts",
    "DamagedLine", "RecordClass", "RecordLine", "RecordWriter", "ResultRecord", "Tally", "classify",
    "ignore_damaged", "read_manifest", "read_records", "read_superseded", "records_path",
    "refuse_damaged", "warn_damaged", "write_json_atomic",
]
