"""Schemathesis hooks for the relay: one check of our own beside Schemathesis's.

A request Schemathesis made as valid by the document (its positive mode) must never be refused
as malformed: not `invalid_request` (the body's shape), not 413 (too large) nor 415 (media
type). Domain refusals (`invalid_email`, `invalid_challenge`, ...) are allowed, as the
document declares them (schemathesis.toml).
"""

import schemathesis

MALFORMED_STATUSES = {413, 415}


@schemathesis.check
def valid_requests_are_never_refused_as_malformed(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    # A send's `link` must be a page of the request's own `Origin`, which a schema cannot say
    # (it depends on a header): drawn at random it is refused as `invalid_request`, rightly.
    # relay/src/tests/links.rs holds the relay to that rule; everything else about such a send
    # is still checked by Schemathesis's own checks.
    if (
        case.path == "/api/v1/challenges"
        and isinstance(case.body, dict)
        and "link" in case.body
    ):
        return None
    code = None
    try:
        code = response.json().get("error", {}).get("code")
    except Exception:  # not JSON: not one of the API's refusals
        pass
    if response.status_code in MALFORMED_STATUSES or code == "invalid_request":
        raise AssertionError(
            f"a request the document calls valid was refused as malformed: "
            f"{response.status_code} {code}: {response.text[:300]}"
        )
    return None
