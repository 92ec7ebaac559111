#!/usr/bin/env python3
"""`make demo`: the whole Trustgate story against a running stack, step by step.

    demo.py [--token URL] [--admin URL]

Defaults are the `make dev` URLs. Exits non-zero as soon as a step does not behave as the
documentation says. Secrets and tokens are shortened in the output.
"""

import argparse
import json
import secrets
import sys
import time
import urllib.parse

import jwt
import requests

from idp import ThirdPartyIssuer

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SECRET_FIELDS = {"client_secret", "access_token", "refresh_token", "subject_token"}


class StepFailed(Exception):
    pass


def short(value):
    return value if len(value) <= 16 else f"{value[:12]}…({len(value)} chars)"


def masked(data):
    if isinstance(data, dict):
        return {k: (short(v) if k in SECRET_FIELDS and isinstance(v, str) else masked(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v) for v in data]
    return data


def show_exchange(response):
    request = response.request
    print(f"  → {request.method} {request.url}")
    if request.body:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            fields = dict(urllib.parse.parse_qsl(body))
            print("    " + "&".join(f"{k}={short(v) if k in SECRET_FIELDS else v}" for k, v in fields.items()))
        else:
            text = json.dumps(masked(json.loads(body)), ensure_ascii=False)
            print(f"    {text if len(text) < 300 else text[:300] + '…'}")
    print(f"  ← {response.status_code} {response.headers.get('Content-Type', '')}")
    try:
        text = json.dumps(masked(response.json()), indent=2, ensure_ascii=False)
        print("    " + text.replace("\n", "\n    "))
    except ValueError:
        pass


def expect(response, status, what):
    show_exchange(response)
    if response.status_code != status:
        raise StepFailed(f"{what}: expected HTTP {status}, got {response.status_code}")
    return response.json()


def step(number, title):
    print(f"\n==> {number}. {title}")


def run(token_base, admin_base):
    http = requests.Session()
    org = f"demo-{secrets.token_hex(3)}"
    idp = ThirdPartyIssuer("example-idp")
    partner = ThirdPartyIssuer("partner-idp")
    try:
        step(1, f"Create the organization {org}")
        created = expect(http.post(f"{admin_base}/api/organizations", json={"name": org}), 201, "create organization")
        org_issuer = created["issuer"]
        if org_issuer != f"{token_base}/t/{org}/oauth2/token":
            raise StepFailed(f"organization issuer is {org_issuer}")

        step(2, "Register a trusted token issuer with a JWKS endpoint (a third-party IdP on localhost)")
        alias = f"https://{org}.example.com/api"
        expect(
            http.post(
                f"{admin_base}/t/{org}/api/trusted-token-issuers",
                json={"name": "Example IdP", "issuer": idp.issuer, "alias": alias, "jwks_uri": idp.jwks_uri},
            ),
            201,
            "register JWKS issuer",
        )

        step(3, "Register a second trusted token issuer with a PEM certificate")
        registered = expect(
            http.post(
                f"{admin_base}/t/{org}/api/trusted-token-issuers",
                json={"name": "Partner IdP", "issuer": partner.issuer, "certificate": partner.certificate_pem()},
            ),
            201,
            "register certificate issuer",
        )
        if not registered.get("certificate", {}).get("sha256_fingerprint"):
            raise StepFailed("the certificate issuer shows no fingerprint")

        step(4, "Register an application with the token-exchange and refresh-token grants")
        app = expect(
            http.post(
                f"{admin_base}/t/{org}/api/applications",
                json={"name": "Demo web app", "type": "web", "grant_types": [TOKEN_EXCHANGE, "refresh_token"]},
            ),
            201,
            "register application",
        )
        client_id, client_secret = app["client_id"], app["client_secret"]

        step(5, "The third-party IdP signs a JWT for a user (its custom claim `email` is not copied)")
        subject_token = idp.sign("user-1234", alias, email="ada@example.com")
        print(f"    subject token from {idp.issuer}: {short(subject_token)}")

        step(6, "Exchange it at the token endpoint with Basic client authentication")
        print(
            f"    curl {token_base}/t/{org}/oauth2/token -u \"$CLIENT_ID:$CLIENT_SECRET\" \\\n"
            f"      -d grant_type={TOKEN_EXCHANGE} \\\n"
            f"      -d subject_token=\"$SUBJECT_TOKEN\" -d subject_token_type={JWT_TYPE}"
        )
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token, "subject_token_type": JWT_TYPE}
        tokens = expect(
            http.post(f"{token_base}/t/{org}/oauth2/token", data=form, auth=(client_id, client_secret)),
            200,
            "token exchange",
        )
        if tokens.get("issued_token_type") != ACCESS_TOKEN_TYPE or tokens.get("token_type") != "Bearer":
            raise StepFailed("unexpected token response")

        step(7, "Find the JWKS through discovery and verify the issued token")
        metadata = expect(
            http.get(f"{org_issuer}/.well-known/openid-configuration"), 200, "discovery document"
        )
        claims = verify(http, metadata, tokens["access_token"], client_id)
        print(f"    verified claims: {json.dumps(claims)}")
        if claims["sub"] != "user-1234" or "email" in claims:
            raise StepFailed("the issued token must carry the subject and nothing else of the subject token")

        step(8, "Exchange a token of the certificate-trusted issuer")
        partner_token = partner.sign("partner-user-7", org_issuer)
        partner_tokens = expect(
            http.post(
                f"{token_base}/t/{org}/oauth2/token",
                data={**form, "subject_token": partner_token},
                auth=(client_id, client_secret),
            ),
            200,
            "token exchange (certificate issuer)",
        )
        if verify(http, metadata, partner_tokens["access_token"], client_id)["sub"] != "partner-user-7":
            raise StepFailed("wrong subject in the partner token")

        step(9, "Refresh: a new access token and a rotated refresh token")
        refreshed = expect(
            http.post(
                f"{token_base}/t/{org}/oauth2/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                auth=(client_id, client_secret),
            ),
            200,
            "refresh",
        )
        if refreshed["refresh_token"] == tokens["refresh_token"]:
            raise StepFailed("the refresh token was not rotated")
        if verify(http, metadata, refreshed["access_token"], client_id)["sub"] != "user-1234":
            raise StepFailed("the refreshed token has another subject")

        step(10, "Reusing the spent refresh token is refused and revokes its family")
        reuse = http.post(
            f"{token_base}/t/{org}/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(client_id, client_secret),
        )
        if expect(reuse, 400, "refresh token reuse").get("error") != "invalid_grant":
            raise StepFailed("reuse must be invalid_grant")

        step(11, "Clean up: delete the organization")
        gone = http.delete(f"{admin_base}/api/organizations/{org}")
        show_exchange(gone)
        if gone.status_code not in (200, 204):
            raise StepFailed(f"delete organization: HTTP {gone.status_code}")
    finally:
        idp.close()
        partner.close()


def verify(http, metadata, token, client_id):
    """Verifies `token` with PyJWT against the keys published at the discovered `jwks_uri`."""
    jwks = http.get(metadata["jwks_uri"]).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    public_key = jwt.PyJWK(key).key
    return jwt.decode(token, public_key, algorithms=[key["alg"]], audience=client_id, issuer=metadata["issuer"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--token", default="http://127.0.0.1:9000")
    parser.add_argument("--admin", default="http://127.0.0.1:9000")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        run(args.token.rstrip("/"), args.admin.rstrip("/"))
    except (StepFailed, requests.RequestException, jwt.PyJWTError, KeyError) as e:
        print(f"\nDEMO FAILED: {e}", file=sys.stderr)
        return 1
    print(f"\nDemo complete in {time.monotonic() - started:.1f} s: every step behaved as documented.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
