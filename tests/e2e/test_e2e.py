"""A user's software against the running stack: discovery from the issuer URL, the exchange
with Authlib (a widely used OAuth client), verification with PyJWT via the published JWKS."""

import json
import os
import subprocess
from pathlib import Path

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session

from conftest import JWT_TYPE, ROOT, TOKEN_EXCHANGE


def discover(issuer):
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=30)
    assert response.status_code == 200, response.text
    metadata = response.json()
    assert metadata["issuer"] == issuer
    return metadata


def verify(metadata, token, client_id):
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(token, signing_key.key, algorithms=["RS256"], audience=client_id, issuer=metadata["issuer"])


def test_discovery_then_exchange_with_authlib_and_verification_with_pyjwt(tenant, idp):
    metadata = discover(tenant.issuer)
    assert TOKEN_EXCHANGE in metadata["grant_types_supported"]
    assert "client_secret_basic" in metadata["token_endpoint_auth_methods_supported"]

    client = OAuth2Session(tenant.client_id, tenant.client_secret, token_endpoint_auth_method="client_secret_basic")
    token = client.fetch_token(
        metadata["token_endpoint"],
        grant_type=TOKEN_EXCHANGE,
        subject_token=idp.sign("alice", tenant.issuer, email="alice@example.com"),
        subject_token_type=JWT_TYPE,
    )
    assert token["token_type"] == "Bearer"
    assert token["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"

    claims = verify(metadata, token["access_token"], tenant.client_id)
    assert claims["sub"] == "alice"
    assert set(claims) == {"iss", "sub", "aud", "client_id", "iat", "exp", "jti", "idp"}
    assert jwt.get_unverified_header(token["access_token"])["typ"] == "at+jwt"

    refreshed = client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    refreshed_claims = verify(metadata, refreshed["access_token"], tenant.client_id)
    assert refreshed_claims["sub"] == "alice"
    assert refreshed_claims["idp"] == claims["idp"]


def test_rfc8414_metadata_matches_the_openid_document(tenant):
    oidc = discover(tenant.issuer)
    prefix, _, path = tenant.issuer.partition("/t/")
    rfc8414 = requests.get(f"{prefix}/.well-known/oauth-authorization-server/t/{path}", timeout=30)
    assert rfc8414.status_code == 200
    assert rfc8414.json() == oidc


def test_a_refused_subject_token_is_an_oauth_error_the_client_library_raises(tenant, idp):
    metadata = discover(tenant.issuer)
    client = OAuth2Session(tenant.client_id, tenant.client_secret, token_endpoint_auth_method="client_secret_basic")
    try:
        client.fetch_token(
            metadata["token_endpoint"],
            grant_type=TOKEN_EXCHANGE,
            subject_token=idp.sign("mallory", "https://someone-else.example.com"),
            subject_token_type=JWT_TYPE,
        )
    except Exception as error:  # Authlib raises OAuthError with the RFC 6749 code
        assert getattr(error, "error", None) == "invalid_request", error
    else:
        raise AssertionError("a token for another audience must be refused")


def test_every_documented_event_reaches_its_function_through_cargo_lambda_invoke(admin_url):
    """The files in events/ are what the README tells users to send; none may rot."""
    watch_port = os.environ["TRUSTGATE_E2E_WATCH_PORT"]
    # The events name the organization `acme`; make sure it exists in this stack.
    requests.post(f"{admin_url}/api/organizations", json={"name": "acme"}, timeout=60)
    for path in sorted((ROOT / "events").glob("*.json")):
        function = path.name.split("-", 1)[0]
        result = subprocess.run(
            ["cargo", "lambda", "invoke", function, "--invoke-address", "127.0.0.1", "--invoke-port", watch_port,
             "--data-file", str(path), "--output-format", "json"],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
        assert result.returncode == 0, f"{path.name}: {result.stderr}"
        response = json.loads(result.stdout)
        status = response["statusCode"]
        assert status != 404 or "no route" not in response.get("body", ""), f"{path.name} reached no route"
        assert status < 500, f"{path.name}: {response}"


def _exchange(client, metadata, tenant, idp):
    return client.fetch_token(
        metadata["token_endpoint"],
        grant_type=TOKEN_EXCHANGE,
        subject_token=idp.sign("alice", tenant.issuer),
        subject_token_type=JWT_TYPE,
    )


def _introspect(client, metadata, token, hint):
    response = client.introspect_token(metadata["introspection_endpoint"], token=token, token_type_hint=hint)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def test_introspection_and_revocation_with_authlib(tenant, idp):
    metadata = discover(tenant.issuer)
    assert metadata["introspection_endpoint"] == tenant.issuer.replace("/oauth2/token", "/oauth2/introspect")
    assert metadata["revocation_endpoint"] == tenant.issuer.replace("/oauth2/token", "/oauth2/revoke")
    assert "client_secret_basic" in metadata["introspection_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in metadata["revocation_endpoint_auth_methods_supported"]

    client = OAuth2Session(tenant.client_id, tenant.client_secret, token_endpoint_auth_method="client_secret_basic")
    token = _exchange(client, metadata, tenant, idp)
    access = _introspect(client, metadata, token["access_token"], "access_token")
    claims = verify(metadata, token["access_token"], tenant.client_id)
    assert access == {"active": True, "token_type": "Bearer", **{k: claims[k] for k in
                      ("iss", "sub", "idp", "aud", "client_id", "exp", "iat", "jti")}}
    refresh = _introspect(client, metadata, token["refresh_token"], "refresh_token")
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert refresh["client_id"] == tenant.client_id and refresh["sub"] == "alice"

    revoked = client.revoke_token(metadata["revocation_endpoint"], token=token["refresh_token"],
                                  token_type_hint="refresh_token")
    assert revoked.status_code == 200, revoked.text
    assert _introspect(client, metadata, token["refresh_token"], "refresh_token") == {"active": False}
    assert _introspect(client, metadata, token["access_token"], "access_token") == {"active": False}
    try:
        client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    except Exception as error:
        assert getattr(error, "error", None) == "invalid_grant", error
    else:
        raise AssertionError("a revoked refresh token must be refused")
    unknown = client.revoke_token(metadata["revocation_endpoint"], token="never-issued")
    assert unknown.status_code == 200


def test_revoking_the_first_access_token_of_a_refresh_chain_makes_all_three_inactive(tenant, idp):
    # The chain here is the three access tokens one refresh family issued: an exchange and two
    # refreshes (chained exchange is in the delegation test below).
    metadata = discover(tenant.issuer)
    client = OAuth2Session(tenant.client_id, tenant.client_secret, token_endpoint_auth_method="client_secret_basic")
    first = _exchange(client, metadata, tenant, idp)
    second = client.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
    third = client.refresh_token(metadata["token_endpoint"], refresh_token=second["refresh_token"])
    chain = [first["access_token"], second["access_token"], third["access_token"]]
    assert all(_introspect(client, metadata, t, "access_token")["active"] for t in chain)
    revoked = client.revoke_token(metadata["revocation_endpoint"], token=first["access_token"],
                                  token_type_hint="access_token")
    assert revoked.status_code == 200, revoked.text
    assert [_introspect(client, metadata, t, "access_token")["active"] for t in chain] == [False] * 3


def test_an_admin_revocation_of_a_subject_ends_its_tokens(tenant, idp, admin_url):
    metadata = discover(tenant.issuer)
    client = OAuth2Session(tenant.client_id, tenant.client_secret, token_endpoint_auth_method="client_secret_basic")
    token = _exchange(client, metadata, tenant, idp)
    revoked = requests.post(f"{admin_url}/t/{tenant.name}/api/revocations", json={"sub": "alice"}, timeout=30)
    assert revoked.status_code == 201, revoked.text
    assert revoked.json()["revoked_before"].endswith("Z")
    assert _introspect(client, metadata, token["access_token"], "access_token") == {"active": False}
    later = _exchange(client, metadata, tenant, idp)
    assert _introspect(client, metadata, later["access_token"], "access_token")["active"] is True


ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def _application(admin_url, tenant, body):
    created = requests.post(f"{admin_url}/t/{tenant.name}/api/applications",
                            json={"type": "web", **body}, timeout=30)
    assert created.status_code == 201, created.text
    app = created.json()
    return OAuth2Session(app["client_id"], app["client_secret"], token_endpoint_auth_method="client_secret_basic")


def test_an_agent_exchanges_with_an_actor_token_and_an_audience_and_the_audience_exchanges_further(
        tenant, idp, admin_url):
    """The MCP-style story of README's "Delegation and targets", with Authlib on both hops."""
    metadata = discover(tenant.issuer)
    mcp = _application(admin_url, tenant, {
        "name": "Tickets MCP server", "allowed_issuers": ["self"],
        "allowed_audiences": ["https://billing.example.com"], "allowed_scopes": ["tickets:read"]})
    agent = _application(admin_url, tenant, {
        "name": "Agent", "allowed_audiences": [mcp.client_id], "allowed_scopes": ["tickets:read"],
        "delegation": {"allowed_actor_issuers": [tenant.issuer_id], "max_depth": 1}})

    token = agent.fetch_token(
        metadata["token_endpoint"],
        grant_type=TOKEN_EXCHANGE,
        subject_token=idp.sign("alice", tenant.issuer),
        subject_token_type=JWT_TYPE,
        actor_token=idp.sign("agent-7", tenant.issuer),
        actor_token_type=JWT_TYPE,
        audience=mcp.client_id,
        scope="tickets:read",
    )
    assert token["scope"] == "tickets:read"
    claims = verify(metadata, token["access_token"], mcp.client_id)
    assert claims["sub"] == "alice"
    assert claims["aud"] == mcp.client_id
    assert claims["act"] == {"sub": "agent-7", "idp": idp.issuer}

    onward = mcp.fetch_token(
        metadata["token_endpoint"],
        grant_type=TOKEN_EXCHANGE,
        subject_token=token["access_token"],
        subject_token_type=ACCESS_TOKEN_TYPE,
        resource="https://billing.example.com",
    )
    onward_claims = verify(metadata, onward["access_token"], "https://billing.example.com")
    assert onward_claims["sub"] == "alice"
    assert onward_claims["act"] == claims["act"]
    assert onward_claims["exp"] <= claims["exp"]

    # The agent itself cannot exchange the token onward: only its audience may.
    try:
        agent.fetch_token(metadata["token_endpoint"], grant_type=TOKEN_EXCHANGE,
                          subject_token=token["access_token"], subject_token_type=ACCESS_TOKEN_TYPE)
    except Exception as error:
        assert getattr(error, "error", None) == "invalid_request", error
    else:
        raise AssertionError("the agent's policy does not list self")
