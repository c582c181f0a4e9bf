"""Running an experiment: options -> plan (steps of points and rounds) ->
requests through the cache and the client -> scored records, written as they
finish; or, offline, records with no inference at all.

`run(RunOptions(...))` is what `contour run` does.
"""

from contour.run.plan import OnlineSettings, RunSettings, Step, build_record
from contour.run.options import RunOptions, prepare, prepare_online, run

__all__ = ["OnlineSettings", "RunOptions", "RunSettings", "Step", "build_record", "prepare",
           "prepare_online", "run"]
