"""The `trustgate` CLI (cli/) as an operator runs it, against the functions under
`cargo lambda watch`: every command, a trusted issuer from a DER certificate file, a failed
explain naming its check, an exchange and a decode of its result, and requests signed with
SigV4 checked by the verifying proxy (tests/e2e/sigv4_proxy.py)."""

import json
import os
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import ROOT, TOKEN_EXCHANGE
from idp import ThirdPartyIssuer
from sigv4_proxy import ACCESS_KEY, REGION, SECRET_KEY, SESSION_TOKEN

CLI = os.environ.get("TRUSTGATE_E2E_CLI") or str(ROOT / "target" / "debug" / "trustgate")
# Variables the CLI reads; the tests set what each run needs.
OWN_VARIABLES = ("TRUSTGATE_ENDPOINT", "TRUSTGATE_ORG", "TRUSTGATE_CLIENT_ID", "TRUSTGATE_CLIENT_SECRET",
                 "TRUSTGATE_SUBJECT_TOKEN", "TRUSTGATE_TOKEN", "AWS_PROFILE")


def trustgate(*args, endpoint=None, env=None, stdin=None, expect=0):
    """Runs the CLI; asserts its exit code; returns the completed process."""
    environment = {k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}
    if endpoint:
        environment["TRUSTGATE_ENDPOINT"] = endpoint
    environment.update(env or {})
    done = subprocess.run([CLI, *args], env=environment, input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == expect, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


def as_json(done):
    return json.loads(done.stdout)


def test_every_command_has_help_with_examples_and_the_exit_codes_are_documented():
    top = trustgate("--help").stdout
    assert "Exit codes:" in top and "4  explain denied, or a token did not verify" in top
    commands = [["org", "create"], ["org", "list"], ["org", "show"], ["org", "delete"],
                ["issuer", "add"], ["issuer", "list"], ["issuer", "show"], ["issuer", "update"],
                ["issuer", "delete"], ["app", "create"], ["app", "list"], ["app", "show"],
                ["app", "update"], ["app", "delete"], ["app", "rotate-secret"], ["explain"],
                ["revoke"], ["exchange"], ["decode"]]
    for command in commands:
        shown = trustgate(*command, "--help").stdout
        assert "Example" in shown, command


def test_organizations_create_list_show_delete_and_a_refusal_exits_1(admin_url):
    name = f"cli-{os.urandom(4).hex()}"
    created = as_json(trustgate("--json", "org", "create", name, endpoint=admin_url))
    assert created["name"] == name and created["issuer"].endswith(f"/t/{name}/oauth2/token")
    table = trustgate("org", "list", endpoint=admin_url).stdout
    assert table.startswith("NAME") and name in table
    assert name in [o["name"] for o in as_json(trustgate("org", "list", "--json", endpoint=admin_url))["items"]]
    assert f"issuer:" in trustgate("org", "show", name, endpoint=admin_url).stdout

    again = trustgate("org", "create", name, endpoint=admin_url, expect=1)
    assert "(409)" in again.stderr
    trustgate("org", "delete", name, endpoint=admin_url)
    gone = trustgate("org", "show", name, endpoint=admin_url, expect=1)
    assert "(404)" in gone.stderr


def test_usage_and_unreachable_errors_say_what_to_fix():
    missing = trustgate("org", "list", expect=2)
    assert "TRUSTGATE_ENDPOINT" in missing.stderr
    refused = trustgate("org", "list", endpoint="http://127.0.0.1:9/admin", expect=3)
    assert "http://127.0.0.1:9/admin" in refused.stderr
    assert trustgate("org", "create", expect=2).stderr.startswith("error:")


def _der_file(tmp_path, idp):
    certificate = x509.load_pem_x509_certificate(idp.certificate_pem().encode())
    path = tmp_path / "idp.cer"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
    assert path.read_bytes()[0] == 0x30  # binary DER, not PEM
    return path


def test_issuers_by_der_certificate_and_by_jwks_then_exchange_with_the_certificate_issuer(
        tenant, admin_url, token_url, tmp_path):
    org = ["--org", tenant.name]
    cert_idp = ThirdPartyIssuer("cli-cert-idp")
    jwks_idp = ThirdPartyIssuer("cli-jwks-idp")
    try:
        added = as_json(trustgate("issuer", "add", *org, "--json", "--name", "Cert IdP", "--issuer", cert_idp.issuer,
                                  "--certificate", str(_der_file(tmp_path, cert_idp)), endpoint=admin_url))
        assert "cli-cert-idp signing" in added["certificate"]["subject"]
        assert "jwks_uri" not in added or added["jwks_uri"] is None

        by_jwks = trustgate("issuer", "add", *org, "--name", "JWKS IdP", "--issuer", jwks_idp.issuer,
                            "--jwks-uri", jwks_idp.jwks_uri, "--algorithms", "RS256", endpoint=admin_url).stdout
        jwks_id = next(line.split()[1] for line in by_jwks.splitlines() if line.startswith("id:"))

        listed = trustgate("issuer", "list", *org, endpoint=admin_url).stdout
        assert "Cert IdP" in listed and "certificate" in listed and f"jwks {jwks_idp.jwks_uri}" in listed
        shown = trustgate("issuer", "show", *org, added["id"], endpoint=admin_url).stdout
        assert "certificate.sha256_fingerprint:" in shown and "BEGIN CERTIFICATE" not in shown

        disabled = as_json(trustgate("issuer", "update", *org, jwks_id, "--disable", "--json", endpoint=admin_url))
        assert disabled["enabled"] is False
        trustgate("issuer", "delete", *org, jwks_id, endpoint=admin_url)
        assert jwks_id not in trustgate("issuer", "list", *org, endpoint=admin_url).stdout

        garbage = tmp_path / "garbage.crt"
        garbage.write_bytes(b"\x00\x01 not a certificate")
        refused = trustgate("issuer", "add", *org, "--name", "X", "--issuer", "https://x.example",
                            "--certificate", str(garbage), endpoint=admin_url, expect=2)
        assert "garbage.crt" in refused.stderr and "is not a certificate" in refused.stderr

        # The certificate is what verifies this issuer's tokens at the token endpoint.
        done = trustgate("exchange", *org, "--client-id", tenant.client_id, cert_idp.sign("carol", tenant.issuer),
                         endpoint=admin_url, env={"TRUSTGATE_CLIENT_SECRET": tenant.client_secret})
        assert '"sub": "carol"' in done.stdout and "signature: valid" in done.stdout
    finally:
        cert_idp.close()
        jwks_idp.close()


def test_applications_create_list_show_update_rotate_delete_and_the_secret_is_shown_once(tenant, admin_url):
    org = ["--org", tenant.name]
    created = trustgate("app", "create", *org, "--name", "cli app", "--type", "web", "--grant", "token-exchange",
                        "--allowed-scopes", "read,write", endpoint=admin_url)
    secret_line = next(line for line in created.stdout.splitlines() if line.startswith("client_secret:"))
    secret = secret_line.split(":", 1)[1].strip()
    assert len(secret) >= 32
    assert "not be retrieved again" in created.stderr and secret not in created.stderr
    client_id = next(line.split()[1] for line in created.stdout.splitlines() if line.startswith("client_id:"))

    assert client_id in trustgate("app", "list", *org, endpoint=admin_url).stdout
    shown = as_json(trustgate("app", "show", *org, client_id, "--json", endpoint=admin_url))
    assert shown["allowed_scopes"] == ["read", "write"] and "client_secret" not in shown
    assert shown["grant_types"] == [TOKEN_EXCHANGE]

    updated = as_json(trustgate("app", "update", *org, client_id, "--grant", "token-exchange", "--grant",
                                "refresh-token", "--allowed-scopes", "", "--json", endpoint=admin_url))
    assert updated["grant_types"] == [TOKEN_EXCHANGE, "refresh_token"] and updated["allowed_scopes"] == []

    rotated = as_json(trustgate("app", "rotate-secret", *org, client_id, "--json", endpoint=admin_url))
    assert rotated["client_secret"] and rotated["client_secret"] != secret

    spa = trustgate("app", "create", *org, "--name", "spa", "--type", "spa", "--grant", "token-exchange",
                    endpoint=admin_url, expect=1)
    assert "(400)" in spa.stderr
    trustgate("app", "delete", *org, client_id, endpoint=admin_url)
    trustgate("app", "show", *org, client_id, endpoint=admin_url, expect=1)


def test_explain_names_the_failing_check_and_exits_4_then_allows_with_the_claims(tenant, idp, admin_url):
    org = ["--org", tenant.name, "--client-id", tenant.client_id]
    wrong_audience = idp.sign("alice", "https://someone-else.example")
    denied = trustgate("explain", *org, wrong_audience, endpoint=admin_url, expect=4)
    failing = [line for line in denied.stdout.splitlines() if " fail " in f" {line} "]
    assert len(failing) == 1 and failing[0].split()[0] == "audience", denied.stdout
    assert "decision: deny" in denied.stdout and "check `audience` failed" in denied.stderr

    allowed = trustgate("explain", *org, "-", stdin=idp.sign("alice", tenant.issuer), endpoint=admin_url)
    assert "decision: allow" in allowed.stdout and '"sub": "alice"' in allowed.stdout
    as_data = as_json(trustgate("explain", *org, "--json", idp.sign("bob", tenant.issuer), endpoint=admin_url))
    assert as_data["decision"] == "allow" and as_data["claims"]["sub"] == "bob"


def test_exchange_prints_the_verified_token_and_decode_verifies_it_by_issuer(tenant, idp, admin_url):
    env = {"TRUSTGATE_CLIENT_SECRET": tenant.client_secret, "TRUSTGATE_CLIENT_ID": tenant.client_id}
    subject = idp.sign("alice", tenant.issuer)
    done = trustgate("exchange", "--org", tenant.name, subject, endpoint=admin_url, env=env)
    assert tenant.client_secret not in done.stdout + done.stderr
    assert '"token_type": "Bearer"' in done.stdout and "signature: valid" in done.stdout

    response = as_json(trustgate("exchange", "--issuer", tenant.issuer, "--json", idp.sign("alice", tenant.issuer),
                                 env=env))
    token = response["access_token"]
    decoded = trustgate("decode", "-", "--issuer", tenant.issuer, "--audience", tenant.client_id, stdin=token)
    assert '"typ": "at+jwt"' in decoded.stdout and '"sub": "alice"' in decoded.stdout
    assert "signature: valid" in decoded.stdout
    report = as_json(trustgate("decode", token, "--json"))
    assert report["claims"]["iss"] == tenant.issuer and report["verification"] is None

    # Another issuer's keys: the signature does not verify, exit 4.
    foreign = trustgate("decode", token, "--jwks-uri", idp.jwks_uri, expect=4)
    assert "signature: INVALID" in foreign.stdout and "did not verify" in foreign.stderr

    wrong = trustgate("exchange", "--issuer", tenant.issuer, subject, env={**env, "TRUSTGATE_CLIENT_SECRET": "nope"},
                      expect=1)
    assert "invalid_client" in wrong.stderr and "nope" not in wrong.stderr
    piped = trustgate("exchange", "--issuer", tenant.issuer, "--client-id", tenant.client_id,
                      "--client-secret-stdin", subject, stdin=tenant.client_secret + "\n")
    assert "signature: valid" in piped.stdout


def test_revoke_a_subject_and_a_client(tenant, admin_url):
    org = ["--org", tenant.name]
    by_sub = trustgate("revoke", *org, "--sub", "alice", "--idp", "https://idp.example", endpoint=admin_url)
    assert by_sub.stdout.startswith("revoked every matching token issued before ")
    by_client = as_json(trustgate("revoke", *org, "--client-id", tenant.client_id, "--json", endpoint=admin_url))
    assert by_client["revoked_before"].endswith("Z")
    trustgate("revoke", *org, endpoint=admin_url, expect=2)


def _signing_env(**overrides):
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_SESSION_TOKEN": SESSION_TOKEN,
           "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent/config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials"}
    env.update(overrides)
    return env


def test_sigv4_requests_are_verified_by_the_proxy_and_a_wrong_secret_is_refused(sigv4_proxy, tmp_path):
    sign = ["--endpoint", sigv4_proxy.url, "--auth", "sigv4"]
    name = f"cli-sig-{os.urandom(4).hex()}"
    trustgate(*sign, "org", "create", name, env=_signing_env())
    idp = ThirdPartyIssuer("cli-sig-idp")
    try:
        added = as_json(trustgate(*sign, "--json", "issuer", "add", "--org", name, "--name", "Signed",
                                  "--issuer", idp.issuer, "--certificate", str(_der_file(tmp_path, idp)),
                                  env=_signing_env()))
        trustgate(*sign, "issuer", "update", "--org", name, added["id"], "--clock-skew", "30", env=_signing_env())
        trustgate(*sign, "org", "list", env=_signing_env())
    finally:
        idp.close()
    assert sigv4_proxy.verified == 4 and sigv4_proxy.refused == 0, sigv4_proxy.refusals

    wrong = trustgate(*sign, "org", "show", name, env=_signing_env(AWS_SECRET_ACCESS_KEY="not-the-secret"), expect=1)
    assert "(403)" in wrong.stderr and "not-the-secret" not in wrong.stderr
    assert sigv4_proxy.refused == 1 and "signature does not match" in sigv4_proxy.refusals[0]

    env = _signing_env()
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]
    environment_without = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run([CLI, *sign, "org", "list"], env={**environment_without, **env}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "AWS_ACCESS_KEY_ID" in done.stderr and "--profile" in done.stderr
    assert sigv4_proxy.verified == 4 and sigv4_proxy.refused == 1


def test_a_profile_with_credential_process_signs_and_gives_the_region(sigv4_proxy, tmp_path):
    """The standard chain, not only the environment: a named profile whose credentials come from
    `credential_process` (as SSO helpers and vaults provide them) and whose region is the
    profile's."""
    helper = tmp_path / "credentials.sh"
    helper.write_text("#!/bin/sh\nprintf '%s' '" + json.dumps({
        "Version": 1, "AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY, "SessionToken": SESSION_TOKEN,
    }) + "'\n")
    helper.chmod(0o755)
    config = tmp_path / "config"
    config.write_text(f"[profile cli-test]\ncredential_process = {helper}\nregion = {REGION}\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in OWN_VARIABLES}
    environment.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                       AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run([CLI, "--endpoint", sigv4_proxy.url, "--auth", "sigv4", "--profile", "cli-test", "org", "list"],
                          env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sigv4_proxy.verified == 1 and sigv4_proxy.refused == 0, sigv4_proxy.refusals
