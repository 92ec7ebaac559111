#!/usr/bin/env python3
"""Runs the AWS SAM translator on a template, offline, and prints the CloudFormation it makes.

    sam_translate.py infra/template.yaml > target/template.cfn.json

This is the transform CloudFormation applies at deploy time (AWS::Serverless-2016-10-31);
recent cfn-lint validates SAM resources against schemas instead, so this is what proves the
template translates. Local CodeUri paths are replaced by an S3 location, as `sam package`
would; the template uses no SAM managed-policy names, so no AWS call is made.
"""

import json
import os
import sys


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    # The translator resolves pseudo parameters through a boto3 session, which needs a region.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    with open(argv[0], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    packaged = "s3://packaged-by-sam/trustgate.zip"
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = packaged

    class NoManagedPolicies:
        def load(self):
            return {}

    try:
        translated = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"SAM translation: {cause.message}", file=sys.stderr)
        return 1
    json.dump(translated, sys.stdout, indent=1, sort_keys=True)
    print()
    resources = translated["Resources"]
    print(f"SAM translation: {len(resources)} resources", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
