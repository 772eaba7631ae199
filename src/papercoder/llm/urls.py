"""Base URLs split into what may be shown and what must stay in memory, and redaction of secrets in text.

A base URL may carry credentials: userinfo (``http://user:pass@proxy/v1``) or a key in the query
(``?api_key=...``). Only the safe form (no userinfo, no credential-looking query parameters) is ever recorded or
printed. The credentials travel with the client in memory: userinfo becomes HTTP basic auth (what every HTTP
client does with it, and what a reverse proxy with basic auth in front of an OpenAI-compatible server expects),
query parameters are sent on every request.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

# Query parameter names that carry a credential (api_key, key, token, access_token, sig, password, ...).
_SECRET_PARAM = re.compile(r"(?i)(key|token|secret|password|passwd|auth|sig|signature|credential)")
# Safety nets for secrets that were never configured here: key shapes, Authorization values, URL credentials.
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]+")
# A basic-auth token holds a digit, "+", "/" or "=" somewhere; "basic" before an ordinary word is left alone.
_BASIC = re.compile(r"(?i)\b(basic\s+)(?=[A-Za-z]*[0-9+/=])[A-Za-z0-9+/]{6,}={0,2}")
_KEYLIKE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@'\"]+@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&][a-z0-9_\-]*(?:key|token|secret|password|passwd|auth|sig|signature|credential)[a-z0-9_\-]*=)[^&#\s'\"]+"
)
_MIN_SECRET = 4  # shorter "secrets" would blank out ordinary words


@dataclass(frozen=True)
class UrlCredentials:
    """Credentials taken out of a base URL; never written anywhere, never in a repr."""

    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    query: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __bool__(self) -> bool:
        return bool(self.username or self.password or self.query)

    def basic_auth(self) -> str | None:
        """The ``Authorization`` header value for the userinfo, or ``None`` when the URL had none."""
        if not (self.username or self.password):
            return None
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"

    def secrets(self) -> list[str]:
        """The strings to blank out of any message (the username is not secret and too often a common word)."""
        found = [self.password, *(value for _, value in self.query)]
        if header := self.basic_auth():
            found.append(header.split(" ", 1)[1])
        return [s for s in found if len(s) >= _MIN_SECRET]


def split_base_url(url: str) -> tuple[str, UrlCredentials]:
    """``url`` without userinfo and credential query parameters, and those credentials.

    Other query parameters stay in the safe URL (they are not secret, and the client sends them).
    """
    parts = urlsplit(url.strip())
    if "@" not in parts.netloc and not parts.query:
        return url.strip(), UrlCredentials()
    host = parts.netloc.rpartition("@")[2]
    userinfo = parts.netloc.rpartition("@")[0]
    username, _, password = userinfo.partition(":")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret = tuple((k, v) for k, v in pairs if _SECRET_PARAM.search(k))
    public = [(k, v) for k, v in pairs if not _SECRET_PARAM.search(k)]
    safe = urlunsplit((parts.scheme, host, parts.path, urlencode(public), parts.fragment))
    return safe, UrlCredentials(unquote(username), unquote(password), secret)


def safe_url(url: str) -> str:
    """``url`` as it may be recorded or printed."""
    return split_base_url(url)[0]


def client_settings(url: str, credentials: UrlCredentials) -> tuple[str, dict[str, str], dict[str, str]]:
    """``(base_url, default_headers, default_query)`` for an ``openai`` client of the safe ``url``.

    The query goes into ``default_query``: the SDK appends request paths to ``base_url`` verbatim, so a query
    left there would end up in front of ``/chat/completions``. Basic auth replaces the bearer header (one
    ``Authorization`` per request), as httpx itself does when a URL carries userinfo.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(credentials.query)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    header = credentials.basic_auth()
    return base, ({"Authorization": header} if header else {}), query


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Remove known secrets, then anything shaped like a key, an Authorization value or URL credentials."""
    for secret in sorted(secrets or [], key=len, reverse=True):
        if secret and len(secret) >= _MIN_SECRET:
            text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1***", text)
    text = _BASIC.sub(r"\1***", text)
    text = _USERINFO.sub(r"\1***@", text)
    text = _QUERY_SECRET.sub(r"\1***", text)
    return _KEYLIKE.sub("***", text)
