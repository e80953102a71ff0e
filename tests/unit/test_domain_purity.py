"""backend/domain stays pure: it imports only IO-free standard modules and msgspec."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "backend" / "domain"

ALLOWED = frozenset(
    {
        "__future__", "abc", "bisect", "collections", "copy", "dataclasses", "datetime",
        "decimal", "enum", "fractions", "functools", "heapq", "itertools", "math", "msgspec",
        "numbers", "operator", "re", "string", "types", "typing", "uuid",
    }
)  # fmt: skip
FORBIDDEN = frozenset(
    {
        "asyncio", "glob", "http", "httpx", "io", "os", "pathlib", "psycopg", "random",
        "redis", "requests", "shutil", "socket", "starlette", "subprocess", "sys", "time",
        "urllib", "threading", "multiprocessing", "logging", "structlog", "tempfile",
        "sqlite3", "pickle", "builtins", "importlib", "ctypes",
    }
)  # fmt: skip


def import_violations(source: str, package: str = "backend.domain") -> list[str]:
    """Top-level modules imported by `source` that are not allowed in the domain."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the domain package
                continue
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in {
            "__import__",
            "open",
            "exec",
            "eval",
        }:
            problems.append(f"call to {node.func.id}()")  # type: ignore[attr-defined]
            continue
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if name == package or name.startswith(package + "."):
                continue
            if top in FORBIDDEN or top not in ALLOWED:
                problems.append(name)
    return problems


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_the_domain_has_modules_to_check() -> None:
    assert {p.name for p in domain_modules()} >= {"events.py", "annotations.py"}


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_domain_module_imports_nothing_that_does_io(path: Path) -> None:
    assert import_violations(path.read_text()) == []


def test_allowed_modules_are_standard_library_or_msgspec() -> None:
    stdlib = sys.stdlib_module_names
    assert all(name in stdlib for name in ALLOWED - {"msgspec"})
    assert not ALLOWED & FORBIDDEN


@pytest.mark.parametrize(
    ("source", "culprit"),
    [
        ("import os", "os"),
        ("import asyncio.tasks", "asyncio.tasks"),
        ("from psycopg import sql", "psycopg"),
        ("from pathlib import Path", "pathlib"),
        ("import httpx as h", "httpx"),
        ("def f():\n    import socket\n", "socket"),
        ("import numpy", "numpy"),  # not on the allow-list either
        ("from backend.eventstore import postgres", "backend.eventstore"),
        ("open('x')", "call to open()"),
    ],
)
def test_checker_catches_forbidden_imports(source: str, culprit: str) -> None:
    assert import_violations(source) == [culprit]


def test_checker_lets_pure_imports_through() -> None:
    source = (
        "from __future__ import annotations\nimport msgspec\nfrom typing import Any\n"
        "from collections.abc import Iterator\nfrom backend.domain.objects import Key\n"
        "from . import errors\n"
    )
    assert import_violations(source) == []
