#!/usr/bin/env python3
"""The local AWS stack: moto server (DynamoDB and KMS over their real wire protocols).

    local_aws.py free-port                    print a free TCP port on 127.0.0.1
    local_aws.py running  --endpoint URL      exit 0 when an emulator answers there
    local_aws.py wait     --endpoint URL      wait (up to 30 s) until it answers
    local_aws.py bootstrap --endpoint URL --table NAME --key-alias ALIAS [--wrapping-key-alias ALIAS]
    local_aws.py answers  --endpoint URL [--timeout S]
                                              exit 0 once any HTTP answer comes from URL
    local_aws.py serve --port PORT            run moto's server, one request at a time

`bootstrap` is idempotent: it creates the table from the `Table` resource of
infra/template.yaml (its one definition), an RSA_2048 SIGN_VERIFY key behind ALIAS and a
symmetric (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) key behind the wrapping key alias, which
envelope signing encrypts its keys under (TRUSTGATE_SIGNING_MODE=envelope), and leaves them
alone when they already exist.
"""

import argparse
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
REGION = "us-east-1"


def table_definition(template_path=TEMPLATE):
    """The Table resource's properties, reading CloudFormation's short tags as plain values."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def any_tag(loader, _suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("!", any_tag)
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=Loader)
    return template["Resources"]["Table"]["Properties"]


def client(service, endpoint):
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", REGION),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def answers(url, timeout):
    """Waits until `url` gives any HTTP answer (an error status counts), at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, deadline - time.monotonic())):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.25)


def running(endpoint):
    try:
        with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def bootstrap_table(endpoint, name):
    dynamodb = client("dynamodb", endpoint)
    props = table_definition()
    request = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    try:
        dynamodb.create_table(**request)
        print(f"created table {name}")
    except dynamodb.exceptions.ResourceInUseException:
        print(f"table {name} already exists")
    ttl = props["TimeToLiveSpecification"]
    current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") != "ENABLED" or current.get("AttributeName") != ttl["AttributeName"]:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
        )


def bootstrap_alias(endpoint, alias, description, **key_spec):
    """The KMS key named by `alias`, created with `key_spec` unless it already exists."""
    kms = client("kms", endpoint)
    try:
        key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
        print(f"key {alias} already exists ({key_id})")
        return
    except kms.exceptions.NotFoundException:
        pass
    key_id = kms.create_key(Description=description, **key_spec)["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    print(f"created key {alias} ({key_id})")


def bootstrap_key(endpoint, alias):
    bootstrap_alias(endpoint, alias, "Trustgate local signing key",
                    KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")


def bootstrap_wrapping_key(endpoint, alias):
    bootstrap_alias(endpoint, alias, "Trustgate local wrapping key (envelope signing)",
                    KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")


def serve(port):
    """moto's server (as `python -m moto.server`), but handling one request at a time, and
    with DynamoDB's idempotent transactions.

    moto's TransactWriteItems is not atomic under concurrent requests: it checks conditions
    and writes item by item, and on a failed condition rolls back by putting back a copy of
    the whole table taken when it began, which drops the writes other requests made
    meanwhile. DynamoDB's transactions are serializable, and the tests of uniqueness under
    parallel requests (one 201, one 409) rely on that; a lock around each request restores
    it. Connections are still served on threads, so keep-alive clients don't block others.

    Nor does moto honour TransactWriteItems' ClientRequestToken, which the AWS SDK fills in
    and keeps across its retries: DynamoDB answers a repeat of a successful transaction (same
    token, same request, within 10 minutes) with success and changes nothing. Without it, an
    attempt that timed out on a busy emulator but was applied comes back on the retry as a
    failed condition (the items it wrote exist). See `Transactions`. Those attempts time out
    because moto backs up the whole table once per item of a transaction, a cost that grows
    with the table over a test run; `snapshot_once_per_transaction` makes it once per table.
    """
    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(port))  # as moto.server sets it
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()
    transactions = Transactions()
    snapshot_once_per_transaction()

    def one_at_a_time(environ, start_response):
        with lock:
            return transactions.answer(app, environ, start_response)

    run_simple("127.0.0.1", port, one_at_a_time, threaded=True)


def snapshot_once_per_transaction():
    """moto's TransactWriteItems deep-copies a table (its rollback state) for each item of the
    transaction, before writing any; the copies are equal, so the first is kept for the rest."""
    import copy
    import types

    import moto.dynamodb.models as models

    copies = None

    def deepcopy(value, memo=None):
        # Tables only (items are copied elsewhere in the module): a table lives through the
        # transaction, so its id() is not reused meanwhile.
        if copies is None or not isinstance(value, models.Table):
            return copy.deepcopy(value, memo)
        if id(value) not in copies:
            copies[id(value)] = copy.deepcopy(value, memo)
        return copies[id(value)]

    models.copy = types.SimpleNamespace(copy=copy.copy, deepcopy=deepcopy)
    transact = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, *args, **kwargs):
        nonlocal copies
        copies = {}
        try:
            return transact(self, *args, **kwargs)
        finally:
            copies = None

    models.DynamoDBBackend.transact_write_items = transact_write_items


class Transactions:
    """Successful TransactWriteItems answers by ClientRequestToken, for 10 minutes (DynamoDB's
    idempotency window); a repeat with another request body is DynamoDB's
    IdempotentParameterMismatchException."""

    WINDOW = 600

    def __init__(self):
        self.done = {}  # token -> (monotonic time, request body, status, headers, body)

    def answer(self, app, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").endswith(".TransactWriteItems"):
            return list(app(environ, start_response))
        import io

        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(request)
        try:
            token = json.loads(request).get("ClientRequestToken")
        except ValueError:
            token = None
        if not token:
            return list(app(environ, start_response))
        now = time.monotonic()
        self.done = {k: v for k, v in self.done.items() if now - v[0] < self.WINDOW}
        if token in self.done:
            _, earlier, status, headers, body = self.done[token]
            if earlier != request:
                body = json.dumps({
                    "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                    "message": "The request uses the same client token as a previous, but non-identical request.",
                }).encode()
                status, headers = "400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")]
            start_response(status, headers)
            return [body]
        answer = {}

        def keep(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = b"".join(app(environ, keep))
        if answer["status"].startswith("200"):
            self.done[token] = (now, request, answer["status"], answer["headers"], body)
        return [body]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["free-port", "running", "wait", "bootstrap", "answers", "serve"])
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--endpoint")
    parser.add_argument("--port", type=int)
    parser.add_argument("--table", default="trustgate")
    parser.add_argument("--key-alias", default="alias/trustgate-signing")
    parser.add_argument("--wrapping-key-alias", default="alias/trustgate-wrapping")
    args = parser.parse_args(argv)

    if args.command == "free-port":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            print(s.getsockname()[1])
        return 0
    if args.command == "serve":
        if not args.port:
            parser.error("--port is required")
        serve(args.port)
        return 0
    if not args.endpoint:
        parser.error("--endpoint is required")
    if args.command == "answers":
        return 0 if answers(args.endpoint, args.timeout) else 1
    if args.command == "running":
        return 0 if running(args.endpoint) else 1
    if args.command == "wait":
        deadline = time.monotonic() + 30
        while not running(args.endpoint):
            if time.monotonic() > deadline:
                print(f"no emulator answered at {args.endpoint} within 30 s", file=sys.stderr)
                return 1
            time.sleep(0.1)
        return 0
    bootstrap_table(args.endpoint, args.table)
    bootstrap_key(args.endpoint, args.key_alias)
    bootstrap_wrapping_key(args.endpoint, args.wrapping_key_alias)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
