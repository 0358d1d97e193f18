"""The API against requests generated from its own OpenAPI schema, valid and invalid alike:
no answer is a server error, every answer's status is one the schema documents for the
route, and every body matches the schema of its status.

The fuzzer is the admin, so every route's code runs rather than stopping at the role check
(the roles have their own matrix, test_role_matrix.py). The operations come from the live
server's schema, so routes added later are fuzzed without editing this file. Each operation
is driven by Hypothesis directly, through the operation's strategy.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from cronwell.auth import Role
from tests.e2e.api.conftest import Served

# Requests per operation and mode (valid, invalid): with the API's few dozen operations, a
# few thousand requests over the two dialects, under a minute for each.
EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # every run explores afresh; a failure prints its case in full
    phases=[Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


def test_every_generated_request_is_answered_as_the_schema_says(served: Served) -> None:
    schema = schemathesis.openapi.from_url(f"{served.url}/api/openapi.json", timeout=30)
    sent: list[str] = []
    failures = []
    for found in schema.get_all_operations():
        if isinstance(found, Err):
            failures.append(f"the schema is invalid: {found.err()}")
            continue
        operation = found.ok()
        headers = _admin(served)
        for mode in GenerationMode:
            try:
                _fuzz(operation, mode, headers, sent)
            # Each operation's failures are reported, not only the first operation's; a
            # schemathesis failure group is a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.label} ({mode.value}): {error}")
    assert failures == [], "\n\n".join(failures)
    labels = {
        found.ok().label for found in schema.get_all_operations() if not isinstance(found, Err)
    }
    assert set(sent) == labels, "every operation of the schema was fuzzed"
    assert len(sent) >= 1000, f"only {len(sent)} requests were generated"


def _admin(served: Served) -> dict[str, str]:
    """A fresh admin token of its own: a generated request may revoke a token or disable a
    user, which would turn every later request into a 401 that checks nothing."""
    token = served.app.create_token(Role.ADMIN, name="fuzz").token
    return {"Authorization": f"Bearer {token}"}


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str], sent: list[str]) -> None:
    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)
        sent.append(operation.label)

    fuzz()
