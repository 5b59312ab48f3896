import pytest

from tests.database import BACKENDS, fresh_database_url, postgres_url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """An empty database: SQLite always, PostgreSQL too when SCANNER_TEST_DATABASE_URL is set."""
    if request.param == "postgresql" and not postgres_url():
        pytest.skip("PostgreSQL tests need SCANNER_TEST_DATABASE_URL")
    with fresh_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def http_server():
    """A real HTTP/1.1 server on 127.0.0.1 (tests/httpserver.py), stopped after the test."""
    from tests.httpserver import LoopbackServer

    with LoopbackServer() as server:
        yield server
