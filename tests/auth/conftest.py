"""Auth test fixtures: every auth test also checks that nothing logged contains a token,
a DPoP proof or a full 11-digit national ID number."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from authkit import ISSUED

_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


def _texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage()]
    if record.exc_info and record.exc_info[1] is not None:
        texts.append(str(record.exc_info[1]))
    return texts


@pytest.fixture(autouse=True)
def no_secrets_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture all log records at DEBUG and fail if one leaks a secret."""
    caplog.set_level(logging.DEBUG)
    start = len(ISSUED)
    yield
    issued = ISSUED[start:]
    for record in caplog.records:
        for text in _texts(record):
            assert not _ELEVEN_DIGITS.search(text), f"national ID in log: {record.name}"
            assert "eyJ" not in text, f"JWT-like text in log: {record.name}"
            for secret in issued:
                assert secret not in text, f"token or proof in log: {record.name}"
