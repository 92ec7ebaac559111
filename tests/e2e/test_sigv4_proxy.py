"""The SigV4-verifying proxy itself: it must accept a request botocore signs with the test
credentials and refuse unsigned, tampered and wrongly keyed ones, or the CLI's and the
console's signature tests prove nothing."""

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sigv4_proxy import ACCESS_KEY, REGION, SECRET_KEY, SESSION_TOKEN


def _signed(url, body=b"", secret=SECRET_KEY, method="GET"):
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"} if body else {})
    request.headers["X-Amz-Content-SHA256"] = __import__("hashlib").sha256(body).hexdigest()
    SigV4Auth(Credentials(ACCESS_KEY, secret, SESSION_TOKEN), "execute-api", REGION).add_auth(request)
    return dict(request.headers.items())


def test_the_proxy_forwards_a_correctly_signed_request_and_refuses_the_others(sigv4_proxy):
    url = f"{sigv4_proxy.url}/api/organizations"
    answer = requests.get(url, headers=_signed(url), timeout=60)
    assert answer.status_code == 200, answer.text
    assert sigv4_proxy.verified == 1

    assert requests.get(url, timeout=10).status_code == 403
    assert requests.get(url, headers=_signed(url, secret="wrong"), timeout=10).status_code == 403
    body = b'{"name": "x"}'
    tampered = _signed(url, body, method="POST")
    assert requests.post(url, data=b'{"name": "y"}', headers=tampered, timeout=10).status_code == 403
    assert sigv4_proxy.verified == 1
    reasons = sigv4_proxy.refusals
    assert len(reasons) == 3, reasons
    assert "unsigned" in reasons[0]
    assert "signature does not match" in reasons[1]
    assert "x-amz-content-sha256" in reasons[2]
