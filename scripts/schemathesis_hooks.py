"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

`cargo lambda watch`, the local Lambda emulator, cannot put a body that is not UTF-8 into its
API Gateway event and answers 500 (text/plain) itself, before the function runs. Real API
Gateway base64-encodes such a body, and the function answers 400 for it (tests/admin_
organizations.rs, refuses_bodies_that_are_not_json_too_large_or_malformed). So bodies that are
not UTF-8 are made UTF-8 here (invalid bytes become U+FFFD): still malformed JSON for the
function, without tripping the emulator. Nothing else is changed.
"""

import schemathesis


def _utf8(value):
    if isinstance(value, (bytes, bytearray)):
        try:
            bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value).decode("utf-8", "replace").encode("utf-8")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
    return None


@schemathesis.hook
def before_call(context, case, **kwargs):
    fixed = _utf8(case.body)
    if fixed is not None:
        case.body = fixed
