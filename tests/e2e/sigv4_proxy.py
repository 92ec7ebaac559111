"""A test stand-in for API Gateway's AWS_IAM authorizer: an HTTP server that checks each
request's AWS Signature Version 4 against known test credentials, then forwards it unsigned
to the admin function (under `cargo lambda watch`) and returns its answer.

The signature is recomputed with botocore's SigV4Auth (an implementation independent of the
Rust signer under test) over the request as received: method, path and query, the headers
the client listed in SignedHeaders, and the body, whose SHA-256 must equal
`x-amz-content-sha256`. Unsigned, wrongly signed, stale or foreign-scoped requests get 403 and
are recorded with the reason; nothing is forwarded for them.

    proxy = SigV4Proxy(upstream="http://127.0.0.1:9000/lambda-url/admin")
    proxy.url, proxy.verified, proxy.refusals
"""

import hashlib
import hmac
import threading
import time
import urllib.error
import urllib.request
from calendar import timegm
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIATRUSTGATETEST01"
SECRET_KEY = "trustgate-test-secret-key-not-a-real-one"
SESSION_TOKEN = "trustgate-test-session-token"
REGION = "us-east-1"
SERVICE = "execute-api"
# What API Gateway allows between the signature's date and its own clock.
MAX_SKEW_SECONDS = 300


class Refused(Exception):
    pass


def _parse_authorization(value):
    algorithm, _, rest = value.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise Refused(f"unsupported algorithm {algorithm!r}")
    fields = {}
    for part in rest.split(","):
        name, _, field = part.strip().partition("=")
        fields[name] = field
    missing = {"Credential", "SignedHeaders", "Signature"} - fields.keys()
    if missing:
        raise Refused(f"authorization lacks {sorted(missing)}")
    return fields


def verify(method, path, headers, body, credentials, region=REGION):
    """Raises Refused unless the request carries a valid SigV4 signature by `credentials`.
    `headers` is a case-insensitive mapping (http.server's message)."""
    authorization = headers.get("Authorization")
    if not authorization:
        raise Refused("unsigned: no Authorization header")
    fields = _parse_authorization(authorization)
    access_key, date, scope_region, service, terminator = (fields["Credential"].split("/") + [""] * 5)[:5]
    if access_key != credentials.access_key:
        raise Refused(f"unknown access key {access_key!r}")
    if (scope_region, service, terminator) != (region, SERVICE, "aws4_request"):
        raise Refused(f"wrong credential scope {scope_region}/{service}/{terminator}")
    amz_date = headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        raise Refused("x-amz-date is missing or disagrees with the credential scope")
    signed_at = timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    if abs(time.time() - signed_at) > MAX_SKEW_SECONDS:
        raise Refused("signature too old or from the future")
    if headers.get("X-Amz-Content-SHA256") != hashlib.sha256(body).hexdigest():
        raise Refused("x-amz-content-sha256 is missing or not the body's hash")
    if credentials.token and headers.get("X-Amz-Security-Token") != credentials.token:
        raise Refused("x-amz-security-token is missing or wrong")
    signed_names = fields["SignedHeaders"].split(";")
    if "host" not in signed_names or "x-amz-date" not in signed_names:
        raise Refused("host and x-amz-date must be signed")
    signed = {}
    for name in signed_names:
        values = headers.get_all(name)
        if values is None:
            raise Refused(f"signed header {name!r} is absent")
        signed[name] = ",".join(values)
    request = AWSRequest(method=method, url=f"http://{signed['host']}{path}", headers=signed, data=body)
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(credentials, SERVICE, region)
    canonical = auth.canonical_request(request)
    if auth.signed_headers(auth.headers_to_sign(request)) != fields["SignedHeaders"]:
        raise Refused("SignedHeaders is not the canonical list of the signed headers")
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise Refused("signature does not match")


class SigV4Proxy:
    """Starts on a free loopback port at construction; `close()` stops it."""

    def __init__(self, upstream, credentials=None, region=REGION):
        self.upstream = upstream.rstrip("/")
        self.credentials = credentials or Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
        self.region = region
        self.verified = 0
        self.refusals = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    verify(self.command, self.path, self.headers, body, proxy.credentials, proxy.region)
                except Refused as refused:
                    with proxy._lock:
                        proxy.refusals.append(f"{self.command} {self.path}: {refused}")
                    self._answer(403, "application/json", b'{"message":"Forbidden"}')
                    return
                with proxy._lock:
                    proxy.verified += 1
                self._forward(body)

            def _forward(self, body):
                headers = {}
                if self.headers.get("Content-Type"):
                    headers["Content-Type"] = self.headers["Content-Type"]
                upstream = urllib.request.Request(
                    proxy.upstream + self.path, data=body if body else None, method=self.command, headers=headers
                )
                try:
                    with urllib.request.urlopen(upstream, timeout=120) as answer:
                        self._answer(answer.status, answer.headers.get("Content-Type"), answer.read())
                except urllib.error.HTTPError as answer:
                    self._answer(answer.code, answer.headers.get("Content-Type"), answer.read())

            def _answer(self, status, content_type, body):
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def refused(self):
        with self._lock:
            return len(self.refusals)

    def close(self):
        self._server.shutdown()
        self._server.server_close()
