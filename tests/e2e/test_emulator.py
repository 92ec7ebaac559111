"""The emulator `make test` starts (scripts/local_aws.py `serve`) behaves as DynamoDB does where
moto alone does not: transactions are idempotent by ClientRequestToken, and a cancelled
transaction still writes nothing."""

import os
import secrets

import boto3
import pytest


@pytest.fixture(scope="module")
def dynamodb():
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.fail("AWS_ENDPOINT_URL is not set: the end-to-end tests run under `make test`")
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    name = f"emulator-{secrets.token_hex(4)}"
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    yield client, name
    client.delete_table(TableName=name)


def put_new(table, pk, n=1):
    return {"Put": {"TableName": table, "Item": {"pk": {"S": pk}, "n": {"N": str(n)}},
                    "ConditionExpression": "attribute_not_exists(pk)"}}


def test_a_repeated_transaction_succeeds_without_writing_again(dynamodb):
    client, table = dynamodb
    token = secrets.token_hex(8)
    items = [put_new(table, f"a-{token}"), put_new(table, f"b-{token}")]
    client.transact_write_items(TransactItems=items, ClientRequestToken=token)
    client.put_item(TableName=table, Item={"pk": {"S": f"a-{token}"}, "n": {"N": "2"}})
    # The SDK's retry of an attempt that timed out but was applied.
    client.transact_write_items(TransactItems=items, ClientRequestToken=token)
    item = client.get_item(TableName=table, Key={"pk": {"S": f"a-{token}"}})["Item"]
    assert item["n"] == {"N": "2"}, "the repeat changed nothing"

    with pytest.raises(client.exceptions.IdempotentParameterMismatchException):
        client.transact_write_items(TransactItems=[put_new(table, f"c-{token}")], ClientRequestToken=token)
    # Without the token the conditions are checked again.
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=items)


def test_a_cancelled_transaction_writes_nothing_and_is_not_remembered(dynamodb):
    client, table = dynamodb
    token = secrets.token_hex(8)
    client.put_item(TableName=table, Item={"pk": {"S": f"taken-{token}"}})
    items = [put_new(table, f"new-{token}"), put_new(table, f"other-{token}"), put_new(table, f"taken-{token}")]
    for _ in range(2):
        with pytest.raises(client.exceptions.TransactionCanceledException) as cancelled:
            client.transact_write_items(TransactItems=items, ClientRequestToken=token)
        codes = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
        assert codes == ["None", "None", "ConditionalCheckFailed"]
        for pk in (f"new-{token}", f"other-{token}"):
            assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": pk}})
