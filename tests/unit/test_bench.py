"""The benchmark's own parts that can be checked without timing anything."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import yaml

# `python -m bench` runs from a checkout; the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.keys import SECRET_LIMIT, make_keys, secrets
from bench.load import parse
from bench.suite_time import breakdown
from reference.keys import KeySet, parse_entry

WRK_REPORT = """Running 5s test @ http://127.0.0.1:8080/anything
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.10ms    3.07ms  51.36ms   80.92%
    Req/Sec     2.66k   203.17     3.07k    71.00%
  Latency Distribution
     50%   11.68ms
     75%   13.21ms
     90%   15.47ms
     99%  850.00us
  26482 requests in 5.00s, 9.81MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 7
Requests/sec:   5291.95
Transfer/sec:      1.96MB
"""


def test_a_wrk_report_is_read_with_its_units_and_every_kind_of_failure():
    result = parse(WRK_REPORT)
    assert (result.rps, result.p50_ms, result.p99_ms, result.requests, result.failed) == (5291.95, 11.68, 0.85, 26482, 14)


def test_keys_are_split_into_secrets_under_the_size_limit_half_raw_half_hashed():
    keys = make_keys(30_000)
    manifests = secrets(keys)
    assert len(manifests) > 1
    assert all(len(text.encode()) <= SECRET_LIMIT for text in manifests.values())
    entries = [base64.b64decode(v) for text in manifests.values() for v in yaml.safe_load(text)["data"].values()]
    assert len(entries) == len(keys)
    assert sum(e.startswith(b"{") for e in entries) == len(keys) // 2
    accepted = KeySet.merge(parse_entry(e) for e in entries)
    assert all(accepted.lookup(k.encode()) is not None for k in (keys[0], keys[len(keys) // 2], keys[-1]))
    assert accepted.lookup(b"not-a-key") is None


def test_the_suite_time_is_split_by_what_the_steps_do(tmp_path):
    def step(keyword, name, seconds):
        return {"keyword": keyword, "name": name, "result": {"status": "passed", "duration": int(seconds * 1e9)}}

    scenario = {"steps": [step("Given ", "the \"apikey\" Secret is applied", 0.5), step("When ", "I send a request to the httpbin app without an API key", 0.01),
                          step("Then ", "the request fails with a 401 HTTP response code", 0.25), step("Given ", "I generated the API key \"k\"", 0.0),
                          step("Given ", "the httpbin sample app is installed", 0.2)]}
    (tmp_path / "cucumber.json").write_text(__import__("json").dumps([{"elements": [scenario]}]))
    (tmp_path / "junit.xml").write_text('<testsuites><testsuite><testcase name="a" time="1.0"/></testsuite></testsuites>')
    parts = breakdown(tmp_path)
    assert parts["applying and deleting"] == 0.5 and parts["sending"] == 0.01 and parts["expectations"] == 0.25
    assert parts["clean-state check (an expectation)"] == 0.2
    assert abs(parts["fixtures: set-up and clean-up"] - 0.04) < 1e-9


def test_the_suite_time_says_how_the_matches_were_taken(tmp_path):
    from bench.suite_time import _how_matches_were_taken

    assert _how_matches_were_taken(tmp_path) == ""  # no ConformanceReport: nothing to say
    report = tmp_path / "conformance-report.yaml"
    report.write_text("run: {convergence: {threshold: 3, intervalSeconds: 0.1, timeoutSeconds: 30}}\n")
    assert _how_matches_were_taken(tmp_path) == " (matches 0.1 s apart)"  # written before the field: always spaced
    report.write_text("run: {convergence: {threshold: 3, intervalSeconds: 0.1, timeoutSeconds: 30, matchesSpaced: false}}\n")
    assert "back to back" in _how_matches_were_taken(tmp_path)
