"""A small third-party identity provider for the demo and the end-to-end tests: an RSA key,
a JWKS served over HTTP on 127.0.0.1, a self-signed certificate for the same key, and JWTs
signed with PyJWT. Test keys only."""

import datetime
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


class ThirdPartyIssuer:
    """An identity provider whose `iss` is `http://127.0.0.1:PORT` and whose JWKS is served at
    `/.well-known/jwks.json` until `close()`."""

    def __init__(self, name="idp"):
        self.name = name
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"{name}-{uuid.uuid4().hex[:8]}"
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        body = json.dumps({"keys": [jwk]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/.well-known/jwks.json":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "max-age=300")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks_uri = f"{self.issuer}/.well-known/jwks.json"

    def sign(self, sub, audience, lifetime=300, **claims):
        """A JWT for `sub` addressed to `audience`; extra claims are added as given."""
        now = int(time.time())
        payload = {"iss": self.issuer, "sub": sub, "aud": audience, "iat": now, "exp": now + lifetime}
        payload.update(claims)
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})

    def certificate_pem(self):
        """A self-signed X.509 certificate for the signing key, as PEM."""
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{self.name} signing")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
