import pytest


@pytest.fixture
def client_settings() -> dict[str, object]:
    """The API tests' app refuses bodies over 200 kB (the limit tests aim at it)."""
    return {"max_body_bytes": 200_000}
