"""Web sessions: a signed cookie holds only a random reference; the tokens stay server-side,
in the database, so that every node serves every browser (issue 22).

The browser gets `itsdangerous`-signed references (a session id, or the id of a login under
way) and nothing else: no token, no national ID ever leaves the server in a cookie. The
session (access and refresh tokens, CSRF token, the clinician's declared purpose) is stored
in `web_session` (through `interactions.web_sessions`) under the SHA-256 of the reference,
sealed with AES-GCM under a key derived from the reference (HKDF): the database never holds
the reference, so a copy of it, or of a backup, holds no usable session. Logging out
deletes the row, on every node at once. The signing key is shared by the nodes
(`SAMHANDLING_WEB_SESSION_KEY`, else a file in the shared data directory).

Each session has its own CSRF token (session-bound, compared in constant time) that every
form carries. A session ends after `IDLE_SECONDS` without use or `MAX_SECONDS` in all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeTimedSerializer

from samhandling.interactions.web_sessions import SessionRecords, SessionRow
from samhandling.web.oidc import LoginStart, Tokens

IDLE_SECONDS = 30 * 60
MAX_SECONDS = 8 * 3600
LOGIN_SECONDS = 10 * 60
TOUCH_SECONDS = 60  # a use is written at most once a minute per session
PURGE_SECONDS = 300
SESSION, LOGIN = "session", "login"
US = 1_000_000


@dataclass
class ClinicalContext:
    """What a clinician declared: the purpose of use (and reason), and the patient."""

    purpose: str
    reason: str | None = None
    patient_id: str | None = None
    patient_label: str | None = None

    @property
    def emergency(self) -> bool:
        """Emergency access (ETREAT, BTG): shown prominently on every page."""
        return self.purpose in ("ETREAT", "BTG")


@dataclass
class Session:
    """One logged-in browser."""

    id: str
    tokens: Tokens
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    context: ClinicalContext | None = None

    def csrf_matches(self, offered: str | None) -> bool:
        """The form's CSRF token is this session's (constant-time comparison)."""
        if not offered:
            return False
        return hmac.compare_digest(offered.encode(), self.csrf.encode())


class SessionStore:
    """Sessions and logins under way, in the database, behind signed cookie values."""

    def __init__(self, records: SessionRecords, signing_key: str) -> None:
        self._signer = URLSafeTimedSerializer(signing_key, salt="samhandling-web")
        self._records = records
        self._purged = 0.0

    # -- cookie values ------------------------------------------------------------------
    def sign(self, reference: str) -> str:
        """The cookie value of a reference."""
        return str(self._signer.dumps(reference))

    def unsign(self, value: str | None, max_age: int = MAX_SECONDS) -> str | None:
        """The reference in a cookie value, None when forged, altered or too old."""
        if not value:
            return None
        try:
            reference = self._signer.loads(value, max_age=max_age)
        except BadSignature:  # SignatureExpired is one too
            return None
        return reference if isinstance(reference, str) else None

    # -- logins under way ----------------------------------------------------------------
    def begin_login(self, start: LoginStart, return_to: str, now: float | None = None) -> str:
        """Keep a login's secrets; the reference for the login cookie."""
        now = time.time() if now is None else now
        reference = secrets.token_urlsafe(32)
        content = {"start": asdict(start), "return_to": return_to}
        row = _row(now, now, now + LOGIN_SECONDS)
        self._records.put(_key(reference), LOGIN, _seal(reference, LOGIN, content), row)
        return reference

    def finish_login(
        self, reference: str | None, state: str | None, now: float | None = None
    ) -> tuple[LoginStart, str]:
        """The login the callback belongs to: the reference must be known and the `state`
        the one sent with it. Either way the login is used up (a code is tried once), on
        whichever node the callback arrives."""
        now = time.time() if now is None else now
        row = self._records.take(_key(reference), LOGIN) if reference else None
        content = _open(reference or "", LOGIN, row.sealed) if row else None
        if row is None or content is None or row.expires_us < now * US:
            raise KeyError("no login under way in this browser")
        start = LoginStart(**content["start"])
        if not state or not hmac.compare_digest(state.encode(), start.state.encode()):
            raise KeyError("the state is not this login's")
        return start, str(content["return_to"])

    # -- sessions ------------------------------------------------------------------------
    def create(self, tokens: Tokens, now: float | None = None) -> Session:
        """A new session (a new id at every login: no session fixation)."""
        now = time.time() if now is None else now
        self._purge(now)
        session = Session(secrets.token_urlsafe(32), tokens, created=now, last_used=now)
        self.save(session)
        return session

    def save(self, session: Session) -> None:
        """Store the session as it is now (new tokens, a declared purpose)."""
        content = {
            "tokens": asdict(session.tokens),
            "csrf": session.csrf,
            "context": asdict(session.context) if session.context else None,
        }
        row = _row(session.created, session.last_used, session.created + MAX_SECONDS)
        self._records.put(_key(session.id), SESSION, _seal(session.id, SESSION, content), row)

    def get(self, reference: str | None, now: float | None = None) -> Session | None:
        """The live session of a reference, its idle clock restarted."""
        if not reference:
            return None
        now = time.time() if now is None else now
        key = _key(reference)
        row = self._records.get(key, SESSION)
        content = _open(reference, SESSION, row.sealed) if row else None
        if row is None or content is None:
            return None
        created, last_used = row.created_us / US, row.last_used_us / US
        if now - last_used > IDLE_SECONDS or now - created > MAX_SECONDS:
            self._records.remove(key)
            return None
        if now - last_used > TOUCH_SECONDS:
            self._records.touch(key, int(now * US))
        context = content["context"]
        return Session(
            reference,
            Tokens(**content["tokens"]),
            content["csrf"],
            created,
            now,
            ClinicalContext(**context) if context else None,
        )

    def end(self, session: Session) -> None:
        """Log out: the session and its tokens are forgotten, on every node."""
        self._records.remove(_key(session.id))

    def _purge(self, now: float) -> None:
        if now - self._purged > PURGE_SECONDS:
            self._purged = now
            self._records.purge(int(now * US), int((now - IDLE_SECONDS) * US))


def signing_key(configured: str, directory: os.PathLike[str] | str) -> str:
    """The key that signs the cookies: the configured one, else a random one kept in
    `directory/web-session-key` (mode 0600), created once and shared by every process
    and node on that data directory."""
    if configured:
        return configured
    path = os.path.join(directory, "web-session-key")
    os.makedirs(directory, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process is writing it
            with open(path) as existing:
                text = existing.read().strip()
            if text:
                return text
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty") from None
    key = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key


def _key(reference: str) -> str:
    """The row key of a reference: its SHA-256 (the reference is never stored)."""
    return hashlib.sha256(reference.encode()).hexdigest()


def _cipher(reference: str) -> AESGCM:
    kdf = HKDF(hashes.SHA256(), 32, salt=None, info=b"samhandling-web-session")
    return AESGCM(kdf.derive(reference.encode()))


def _seal(reference: str, kind: str, content: dict[str, Any]) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + _cipher(reference).encrypt(nonce, json.dumps(content).encode(), kind.encode())


def _open(reference: str, kind: str, sealed: bytes) -> dict[str, Any] | None:
    try:
        plain = _cipher(reference).decrypt(sealed[:12], sealed[12:], kind.encode())
    except InvalidTag:
        return None
    found = json.loads(plain)
    return found if isinstance(found, dict) else None


def _row(created: float, last_used: float, expires: float) -> SessionRow:
    return SessionRow(b"", int(created * US), int(last_used * US), int(expires * US))
