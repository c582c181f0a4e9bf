"""Records on disk: the record schema, the append-only writer and the run
folder's files. Manifests are built in `contour.results.manifest`."""

from contour.results.schema import MANIFEST_FILE, RECORDS_FILE, STATS_FILE, ResultRecord
from contour.results.writer import RecordWriter, read_manifest, records_path, write_json_atomic

__all__ = [
    "MANIFEST_FILE", "RECORDS_FILE", "STATS_FILE", "RecordWriter", "ResultRecord", "read_manifest",
    "records_path", "write_json_atomic",
]
