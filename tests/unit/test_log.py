"""JSON log lines keep the traceback of a logged exception (a server's log is where a
failure is found; `"exc_info": true` alone says nothing)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging, structlog
from backend.log import configure_logging
configure_logging("info", "json")
try:
    {}["missing"]
except KeyError:
    structlog.get_logger().exception("structlog failure", session="s1")
    logging.getLogger("uvicorn.error").exception("stdlib failure")
"""


def test_json_lines_carry_the_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [line["event"] for line in lines] == ["structlog failure", "stdlib failure"]
    for line in lines:
        assert line["level"] == "error" and "exc_info" not in line
        assert line["exception"].startswith("Traceback (most recent call last):")
        assert "KeyError: 'missing'" in line["exception"]
