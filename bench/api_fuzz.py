"""Fuzz the JSON API from its OpenAPI document: N requests, 0 answers with status 500.

    python bench/api_fuzz.py [--requests 10000] [--index DIR]

Parameters come from the operations' declared parameters in /api/openapi.json, filled by
hypothesis with valid values, near-misses and arbitrary text; each response must have a
status the operation declares and validate against the declared schema (errors in the
one JSON error shape). Runs over a real index of the seeds (built here) unless --index.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlencode

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402

SPECIAL = ["", "2019", "2019-05", "2019-06-06", "2019-13-45", "-1", "0", "1", "100", "101", "abc",
           "relevance", "newest", "oldest", "Face++", "megvii", '"human rights', "title:", "-", "*",
           "../../etc/passwd", "<script>alert(1)</script>", "%00", "x" * 1001]


def value_for(param: dict) -> st.SearchStrategy:
    """Values for one declared parameter: from its schema, near-misses, and noise."""
    schema = param.get("schema", {})
    options = [st.sampled_from(SPECIAL), st.text(max_size=40)]
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    if schema.get("type") == "integer":
        options.append(st.integers(schema.get("minimum", -10) - 2, schema.get("maximum", 200) + 2).map(str))
    return st.one_of(*options)


def request_strategy(spec: dict) -> st.SearchStrategy:
    """(operation path template, URL) pairs covering every GET operation."""
    ops = []
    for template, item in spec["paths"].items():
        params = item.get("get", {}).get("parameters", [])
        query = {p["name"]: value_for(p) for p in params if p.get("in") == "query"}
        path_params = {p["name"]: value_for(p) for p in params if p.get("in") == "path"}
        args = st.fixed_dictionaries({}, optional=query)
        pargs = st.fixed_dictionaries(path_params)
        ops.append(st.tuples(st.just(template), args, pargs))
    return st.one_of(*ops).map(_url)


def _url(op: tuple[str, dict, dict]) -> tuple[str, str]:
    template, args, pargs = op
    path = template
    for name, value in pargs.items():
        path = path.replace("{" + name + "}", quote(value, safe="") or "x")
    return template, path + ("?" + urlencode(args) if args else "")


def validator(spec: dict, template: str, status: int):
    responses = spec["paths"][template]["get"]["responses"]
    if str(status) not in responses:
        return None
    content = responses[str(status)].get("content", {})
    if "application/json" not in content:
        return "not-json"
    schema = content["application/json"]["schema"]
    if "$ref" in schema:
        schema = {**spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]}
    return jsonschema.Draft202012Validator({**schema, "components": spec["components"]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--index", type=Path)
    args = ap.parse_args()
    index = args.index
    if index is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import SEEDS, run_indexer

        index = Path(tempfile.mkdtemp(prefix="fuzz-index-"))
        run_indexer(SEEDS, index, "--quiet")
    client = create_app({"INDEX_DIR": str(index)}).test_client()
    spec = client.get("/api/openapi.json").get_json()
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    @settings(max_examples=args.requests, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request_strategy(spec))
    def one(req: tuple[str, str]) -> None:
        template, url = req
        r = client.get(url)
        statuses[r.status_code] += 1
        check = validator(spec, template, r.status_code)
        if r.status_code >= 500 or check is None:
            failures.append(f"{r.status_code} {url}")
            return
        if check != "not-json":
            try:
                check.validate(r.get_json())
            except jsonschema.ValidationError as exc:
                failures.append(f"schema {url}: {exc.message}")

    one()
    total = sum(statuses.values())
    print(f"requests: {total}  statuses: {dict(sorted(statuses.items()))}  failures: {len(failures)}")
    for f in failures[:20]:
        print("  ", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
