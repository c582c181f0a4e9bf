import io

from contour.run.progress import Progress


def test_cache_hits_leave_the_total_instead_of_counting_as_done():
    stream = io.StringIO()
    progress = Progress(10, stream=stream, interval_s=0)
    progress.completed(cache_hit=True)
    progress.completed(cache_hit=True)
    progress.completed(cache_hit=False)
    assert (progress.done, progress.total, progress.cached) == (1, 8, 2)
    progress.add_work(5)
    assert progress.total == 13
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines and all(line.startswith("progress: ") for line in lines)   # not a TTY: plain lines
    assert "1/13 requests, 2 cached" in lines[-1] and "\r" not in stream.getvalue()


def test_quiet_prints_nothing():
    stream = io.StringIO()
    progress = Progress(3, enabled=False, stream=stream)
    progress.completed(cache_hit=False)
    progress.close()
    assert stream.getvalue() == ""
