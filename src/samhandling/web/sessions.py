"""Web sessions: a signed cookie holds only a random reference; the tokens stay here.

The browser gets `itsdangerous`-signed references (a session id, or the id of a login under
way) and nothing else: no token, no national ID ever leaves the server in a cookie. The
access and refresh tokens are held in this process's memory keyed by the random id (256
bits), so a stolen database or log holds no session; the price is that a restart logs
everybody out and that several worker processes need sticky sessions (docs/WEB_VIEWS.md).

Each session has its own CSRF token (session-bound, compared in constant time) that every
form carries. A session ends after `IDLE_SECONDS` without use or `MAX_SECONDS` in all.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer

from samhandling.web.oidc import LoginStart, Tokens

IDLE_SECONDS = 30 * 60
MAX_SECONDS = 8 * 3600
LOGIN_SECONDS = 10 * 60
MAX_SESSIONS = 100_000


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
    """Sessions and logins under way, in memory, behind signed cookie values."""

    def __init__(self, signing_key: str | None = None) -> None:
        self._signer = URLSafeTimedSerializer(
            signing_key or secrets.token_urlsafe(32), salt="samhandling-web"
        )
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._logins: dict[str, tuple[LoginStart, str, float]] = {}

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
    def begin_login(self, start: LoginStart, return_to: str) -> str:
        """Keep a login's secrets; the reference for the login cookie."""
        reference = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_expired()
            self._logins[reference] = (start, return_to, time.time() + LOGIN_SECONDS)
        return reference

    def finish_login(self, reference: str | None, state: str | None) -> tuple[LoginStart, str]:
        """The login the callback belongs to: the reference must be known and the `state`
        the one sent with it. Either way the login is used up (a code is tried once)."""
        with self._lock:
            found = self._logins.pop(reference or "", None)
        if found is None or found[2] < time.time():
            raise KeyError("no login under way in this browser")
        start, return_to, _ = found
        if not state or not hmac.compare_digest(state.encode(), start.state.encode()):
            raise KeyError("the state is not this login's")
        return start, return_to

    # -- sessions ------------------------------------------------------------------------
    def create(self, tokens: Tokens) -> Session:
        """A new session (a new id at every login: no session fixation)."""
        session = Session(secrets.token_urlsafe(32), tokens)
        with self._lock:
            self._forget_expired()
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.last_used)
                del self._sessions[oldest.id]
            self._sessions[session.id] = session
        return session

    def get(self, reference: str | None) -> Session | None:
        """The live session of a reference, its idle clock restarted."""
        now = time.time()
        with self._lock:
            session = self._sessions.get(reference or "")
            if session is None:
                return None
            if now - session.last_used > IDLE_SECONDS or now - session.created > MAX_SECONDS:
                del self._sessions[session.id]
                return None
            session.last_used = now
        return session

    def end(self, session: Session) -> None:
        """Log out: the session and its tokens are forgotten."""
        with self._lock:
            self._sessions.pop(session.id, None)

    def _forget_expired(self) -> None:
        now = time.time()
        for key in [k for k, (_, _, until) in self._logins.items() if until < now]:
            del self._logins[key]
        for key in [
            k
            for k, s in self._sessions.items()
            if now - s.last_used > IDLE_SECONDS or now - s.created > MAX_SECONDS
        ]:
            del self._sessions[key]
