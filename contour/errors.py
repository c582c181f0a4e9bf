"""The one exception type for mistakes a user can make."""


class ContourError(Exception):
    """A problem caused by user input (a file, a flag, a value).

    The message must name the file, field and value involved; the CLI prints it
    as one line and exits non-zero.
    """
