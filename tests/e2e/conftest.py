"""End-to-end tests: the real functions under `cargo lambda watch` against the emulator,
driven over HTTP by widely used client libraries. `make test` starts the stack and sets
TRUSTGATE_E2E_TOKEN_URL and TRUSTGATE_E2E_ADMIN_URL."""

import os
import secrets
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from idp import ThirdPartyIssuer  # noqa: E402

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def _url(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: the end-to-end tests run under `make test`")
    return value.rstrip("/")


@pytest.fixture(scope="session")
def token_url():
    return _url("TRUSTGATE_E2E_TOKEN_URL")


@pytest.fixture(scope="session")
def admin_url():
    return _url("TRUSTGATE_E2E_ADMIN_URL")


@pytest.fixture
def idp():
    issuer = ThirdPartyIssuer("e2e-idp")
    yield issuer
    issuer.close()


class Tenant:
    """An organization with a JWKS-trusted issuer and a confidential application, made through
    the admin API."""

    def __init__(self, admin_url, idp):
        self.name = f"e2e-{secrets.token_hex(4)}"
        created = requests.post(f"{admin_url}/api/organizations", json={"name": self.name}, timeout=60)
        assert created.status_code == 201, created.text
        self.issuer = created.json()["issuer"]
        registered = requests.post(
            f"{admin_url}/t/{self.name}/api/trusted-token-issuers",
            json={"name": "E2E IdP", "issuer": idp.issuer, "jwks_uri": idp.jwks_uri},
            timeout=30,
        )
        assert registered.status_code == 201, registered.text
        self.issuer_id = registered.json()["id"]
        app = requests.post(
            f"{admin_url}/t/{self.name}/api/applications",
            json={"name": "e2e client", "type": "web", "grant_types": [TOKEN_EXCHANGE, "refresh_token"]},
            timeout=30,
        )
        assert app.status_code == 201, app.text
        self.client_id = app.json()["client_id"]
        self.client_secret = app.json()["client_secret"]


@pytest.fixture
def tenant(admin_url, idp):
    return Tenant(admin_url, idp)


@pytest.fixture
def sigv4_proxy(admin_url):
    """A SigV4-verifying stand-in for API Gateway's IAM authorizer in front of the admin
    function (tests/e2e/sigv4_proxy.py): `.url`, `.verified`, `.refused`, `.refusals`, and
    `.credentials` (the test access key, secret and session token it accepts)."""
    from sigv4_proxy import SigV4Proxy

    proxy = SigV4Proxy(admin_url)
    yield proxy
    proxy.close()
