"""Property-based API testing: schemathesis reads /api/schema/ from a running `vellum serve`
and sends generated requests (valid and invalid) to every operation the schema lists, as
the admin over HTTP Basic, checking that nothing answers 5xx and that every answer matches
the schema. New endpoints are picked up from the schema, without touching this file.

It runs against a server of its own on a fresh database: fuzzing creates and deletes
resources at random, which the shared `server` of the other API tests must not see."""

from __future__ import annotations

import os
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from tests.conftest import ADMIN, api_server

MAX_EXAMPLES = 8
# Operations with a known bug, reported to their owner: their failures are warnings until
# fixed (then remove the entry). Everything else must pass.
KNOWN_BROKEN: dict[str, str] = {}
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@pytest.fixture(scope="module")
def fuzz_server(services: Any, template_db: str) -> Iterator[str]:
    with api_server(services, template_db, redis_db=2) as running:
        yield running.url


@pytest.fixture(scope="module")
def admin_id(fuzz_server: str) -> int:
    response = httpx.get(f"{fuzz_server}/api/users/self", auth=ADMIN)
    return int(response.json()["id"]) if response.status_code == 200 else 1


def fuzz_config(base_url: str) -> SchemathesisConfig:
    checks: dict[str, Any] = {"enabled": False}
    checks.update({name: {"enabled": True} for name in CHECKS})
    return SchemathesisConfig.from_dict(
        {
            "base-url": base_url,
            "auth": {"basic": {"username": ADMIN[0], "password": ADMIN[1]}},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "no-shrink": True,
                "with-security-parameters": False,  # Basic auth is given explicitly
            },
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": False},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "checks": checks,
            "request-timeout": 10,
        }
    )


@pytest.fixture(scope="module")
def api_schema(fuzz_server: str) -> Any:
    return schemathesis.openapi.from_url(
        f"{fuzz_server}/api/schema/", config=fuzz_config(fuzz_server)
    )


def spares_the_admin(case: Any, admin: int) -> bool:
    """Deleting, deactivating or demoting the one admin would turn every later request
    into a 401 and stop the run from testing anything."""
    if case.method.upper() in ("DELETE", "PATCH", "PUT") and case.path.startswith("/api/users/"):
        return str((case.path_parameters or {}).get("id")) != str(admin)
    return True


def exercise(operation: Any, mode: GenerationMode, admin: int, seen: Counter[int]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if spares_the_admin(case, admin):
            response = case.call_and_validate(auth=ADMIN, timeout=15)
            seen[response.status_code // 100] += 1
            if "FUZZ_DEBUG" in os.environ and response.status_code >= 400:  # to see why
                print(case.method, case.path, case.body, response.status_code, response.text[:200])

    run()


def test_api_never_fails_and_answers_as_documented(api_schema: Any, admin_id: int) -> None:
    """Every operation of the schema, valid and invalid inputs: no 5xx, answers as
    documented. All operations run; the failures are reported together."""
    failures: list[str] = []
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                exercise(operation, mode, admin_id, statuses[operation.label])
            except Unsatisfiable:
                pass  # nothing to make invalid (an operation without parameters)
            except (Exception, BaseExceptionGroup) as exc:  # one broken endpoint hides no other
                report = f"{operation.label} ({mode.value}):\n{str(exc)[:3000]}"
                if operation.label in KNOWN_BROKEN:
                    warnings.warn(
                        f"known bug: {KNOWN_BROKEN[operation.label]}\n{report}", stacklevel=1
                    )
                else:
                    failures.append(report)
    assert operations >= 10, "the schema lists too few operations"
    for label, seen in sorted(statuses.items()):
        print(f"{label}: {dict(seen)}")
    # An endpoint that needs credentials answered: the admin's Basic auth was accepted.
    assert statuses["GET /api/server/plugins"][2], "authenticated requests never succeeded"
    assert not failures, "\n\n".join(failures)


def test_after_the_fuzzing_writes_still_go_through(fuzz_server: str) -> None:
    """Nothing the fuzzer sent was appended in a form that stops the projector (a write
    waits for the read models; it would answer 503)."""
    r = httpx.post(f"{fuzz_server}/api/projects", json={"name": "after fuzz"}, auth=ADMIN)
    assert r.status_code == 201, r.text
