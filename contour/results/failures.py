"""What went wrong with a request, as recorded in a record's `error.type`.

The HTTP client produces these types (contour.run.client describes when);
resume and the tallies only need to know which failures say something about
the request itself (permanent) and which say only that the server or the
network was in trouble (transient), so that knowledge lives here, beside the
record schema, and neither of them imports the client.

- transient: retried by the client and again by a resumed run; never part of
  an accuracy (n), since it says nothing about the model.
- permanent: the server rejected this exact request (400 "context too long",
  401, 404 ...) or answered uselessly; sending it again cannot help. It is a
  property of the test (long inputs cluster at hard points), so evaluation
  counts it as an invalid, wrong answer by default (option to exclude).
- sample errors (generation_error, template_error): Contour could not build
  the request; retried on resume, never part of an accuracy.
"""

from __future__ import annotations

TIMEOUT = "timeout"
CONNECTION = "connection"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
CLIENT_ERROR = "client_error"
MALFORMED_RESPONSE = "malformed_response"
EMPTY_CHOICES = "empty_choices"
NO_CONTENT = "no_content"
MAX_TIME = "max_time"          # the generation ran past --max-time: a property of the test

ERROR_TYPES = frozenset({TIMEOUT, CONNECTION, RATE_LIMITED, SERVER_ERROR, CLIENT_ERROR,
                         MALFORMED_RESPONSE, EMPTY_CHOICES, NO_CONTENT, MAX_TIME})
# Failures that say nothing about the request itself: retried by the client,
# and worth sending again when an interrupted run resumes.
TRANSIENT_ERRORS = frozenset({TIMEOUT, CONNECTION, RATE_LIMITED, SERVER_ERROR,
                              MALFORMED_RESPONSE, EMPTY_CHOICES})
PERMANENT_ERRORS = ERROR_TYPES - TRANSIENT_ERRORS

# Records of a sample whose test could not be generated or rendered (a bug in
# a task or a template): no request was sent; a resumed run tries again.
GENERATION_ERROR = "generation_error"
TEMPLATE_ERROR = "template_error"
SAMPLE_ERRORS = frozenset({GENERATION_ERROR, TEMPLATE_ERROR})
# What the same command sends again when it resumes a run.
RETRY_ON_RESUME = TRANSIENT_ERRORS | SAMPLE_ERRORS


def is_transient(error_type: object) -> bool:
    """True for a failure worth retrying; unknown types count as permanent."""
    return error_type in TRANSIENT_ERRORS
