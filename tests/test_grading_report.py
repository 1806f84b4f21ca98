"""Reports: the table shows partial credit, results.json has every field Gradescope reads (validated
against a JSON schema written from its autograder specification), hidden checks stay hidden."""

from __future__ import annotations

import json
import math

import pytest

from dlcourse.grading import core
from dlcourse.grading.core import Check, Report, Result

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
NUMBER = {"type": "number", "minimum": 0}
#: Gradescope's results.json as its autograder specification describes it (every field it reads).
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["score", "execution_time", "output", "visibility", "stdout_visibility", "tests"],
    "properties": {
        "score": NUMBER, "execution_time": NUMBER, "output": {"type": "string"},
        "output_format": FORMAT, "test_output_format": FORMAT, "test_name_format": FORMAT,
        "visibility": VISIBILITY, "stdout_visibility": VISIBILITY, "extra_data": {"type": "object"},
        "leaderboard": {"type": "array"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "number", "score", "max_score", "status", "output", "output_format", "visibility",
                         "tags"],
            "properties": {
                "name": {"type": "string"}, "name_format": FORMAT, "number": {"type": "string"},
                "score": NUMBER, "max_score": NUMBER, "status": {"enum": ["passed", "failed"]},
                "output": {"type": "string"}, "output_format": FORMAT, "visibility": VISIBILITY,
                "tags": {"type": "array", "items": {"type": "string"}}, "extra_data": {"type": "object"},
            },
        }},
    },
}


def _hand_validate(value, schema, where="results"):
    """The subset of JSON Schema used by SCHEMA, for environments without the jsonschema package."""
    types = {"object": dict, "array": list, "string": str, "number": (int, float)}
    if "type" in schema:
        assert isinstance(value, types[schema["type"]]) and not isinstance(value, bool), (where, value)
    if "enum" in schema:
        assert value in schema["enum"], (where, value)
    if "minimum" in schema:
        assert value >= schema["minimum"], (where, value)
    for key in schema.get("required", []):
        assert key in value, (where, key)
    if schema.get("additionalProperties") is False:
        assert set(value) <= set(schema["properties"]), (where, set(value) - set(schema["properties"]))
    for key, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and key in value:
            _hand_validate(value[key], sub, f"{where}.{key}")
    if "items" in schema:
        for i, item in enumerate(value):
            _hand_validate(item, schema["items"], f"{where}[{i}]")


def validate(results: dict) -> None:
    json.dumps(results, allow_nan=False)  # plain JSON, no NaN
    try:
        import jsonschema
    except ImportError:
        _hand_validate(results, SCHEMA)
    else:
        jsonschema.validate(results, SCHEMA)
    tests = results["tests"]
    assert math.isclose(results["score"], sum(t["score"] for t in tests), abs_tol=1e-9)
    for t in tests:
        assert t["score"] <= t["max_score"]
        assert (t["status"] == "passed") == (t["score"] == t["max_score"])


def _result(cid, points, score, status, message, visibility="visible", output=""):
    check = Check(cid, "Problem 9", f"({cid}) part", points, probe="m:p", judge="m:j", visibility=visibility)
    return Result(check=check, score=score, status=status, message=message, seconds=0.25, output=output)


@pytest.fixture
def report():
    return Report([
        _result("9a", 0.5, 0.5, "passed", "right"),
        _result("9a-hidden", 0.5, 0.25, "partial", "1 of 2 cases passed; failed:\n- f: expected 1, found 2",
                "after_due_date"),
        _result("9b", 1.0, 0.0, "error", "your code raised ValueError: no", output="debug print\n"),
        _result("9c", 1 / 3, 1 / 9, "partial", "1 of 3 cases passed"),
    ])


def test_results_json_has_every_field_gradescope_reads(report, tmp_path):
    path = tmp_path / "results.json"
    report.write_gradescope(path, extra_data={"student": "ada"})
    data = json.loads(path.read_text())
    validate(data)
    assert data["score"] == pytest.approx(0.5 + 0.25 + 1 / 9, abs=1e-4)
    assert data["extra_data"] == {"student": "ada"} and data["stdout_visibility"] == "hidden"
    by_number = {t["number"]: t for t in data["tests"]}
    assert by_number["9a-hidden"]["visibility"] == "after_due_date" and by_number["9a"]["visibility"] == "visible"
    assert by_number["9a-hidden"]["output"].startswith("Partial credit: 0.25/0.5 points.\n1 of 2 cases passed")
    assert by_number["9b"]["output"].startswith("Error: 0/1 points.\nyour code raised ValueError")
    assert "--- your code printed" in by_number["9b"]["output"] and "debug print" in by_number["9b"]["output"]
    assert "hidden cases" in by_number["9a-hidden"]["tags"] and "partial" in by_number["9a-hidden"]["tags"]


def test_top_level_output_reveals_nothing_of_the_hidden_checks(report):
    data = report.gradescope()
    assert data["visibility"] == "visible"
    assert data["output"].startswith("Checks visible now: 0.6111/1.8333 points.")
    assert "0.25" not in data["output"] and "1 more checks on other inputs (0.5 points)" in data["output"]


def test_table_shows_partial_points_and_whole_names(report):
    lines = report.table().splitlines()
    row = next(line for line in lines if line.startswith("Problem 9 (9a-hidden) part"))
    assert "0.25/0.5" in row and "partial" in row
    assert any(line.strip() == "- f: expected 1, found 2" for line in lines)  # every message line, indented
    assert lines[-1].split() == ["Total", "0.8611/2.3333"]


def test_gradebook_row_and_worst_status(report):
    row = report.gradebook_row()
    assert row == {"9a": 0.5, "9a-hidden": 0.25, "9b": 0.0, "9c": 0.1111, "total": 0.8611, "status": "error"}
    assert Report([_result("9a", 1, 1, "passed", "ok")]).status == "passed"


def test_the_schema_test_can_fail(report):
    data = report.gradescope()
    data["tests"][0]["visibility"] = "secret"
    with pytest.raises(Exception):  # noqa: B017 - jsonschema's ValidationError or the hand check's AssertionError
        validate(data)
    data = report.gradescope()
    data["tests"][1]["status"] = "passed"
    with pytest.raises(AssertionError):
        validate(data)


def test_real_checks_report_validates(generated_stubs):
    results = core.grade(generated_stubs, core.all_checks(["1"]))
    validate(Report(results).gradescope())
