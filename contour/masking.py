"""What is never written or printed: API keys and credentials inside URLs.

`--apikey` travels in a header only. A URL such as `http://user:KEY@host/v1`
carries a credential too, so wherever an API base is shown (manifest, command
line, error lines, error records) its userinfo is replaced by `***`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

MASK = "***"


def url_userinfo(url: str) -> str | None:
    """The `user:password` part of a URL, if it has one."""
    try:
        netloc = urlsplit(url.strip()).netloc
    except ValueError:
        return None
    userinfo, at, _ = netloc.rpartition("@")
    return userinfo if at and userinfo else None


def mask_url(url: str) -> str:
    """`url` with any userinfo replaced by `***` (`http://***@host/v1`)."""
    if url_userinfo(url) is None:
        return url
    parts = urlsplit(url.strip())
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every occurrence of each secret replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def mask_argv(argv: list[str]) -> list[str]:
    """A command line with the value of --apikey hidden and --apibase's userinfo masked."""
    out: list[str] = []
    pending: str | None = None
    for arg in argv:
        if pending == "--apikey":
            out.append(MASK)
        elif pending == "--apibase":
            out.append(mask_url(arg))
        elif arg.startswith("--apikey="):
            out.append("--apikey=" + MASK)
        elif arg.startswith("--apibase="):
            out.append("--apibase=" + mask_url(arg.partition("=")[2]))
        else:
            out.append(arg)
        pending = arg if arg in ("--apikey", "--apibase") and pending is None else None
    return out
