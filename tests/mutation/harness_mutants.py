"""Hand-written mutants of the harness: each makes the suite more lenient in one way.

A harness that accepts one lucky response, or counts a skip as a pass, would let a broken
gateway through; the tests of the harness must catch each of these. Every mutant names the
tests that are meant to catch it (`killers`): it counts as killed only when those tests,
and nothing else, fail against it (`tests/e2e/test_harness_mutants.py`, which writes each into a copy of the package).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HarnessMutant:
    name: str
    module: str
    old: str
    new: str
    rule: str
    killers: tuple[str, ...]


MUTANTS = [
    HarnessMutant("converge-on-one-match", "conformance.convergence", "if len(streak) >= rule.threshold:", "if len(streak) >= 1:",
                  "an expectation holds only after `threshold` matches in a row",
                  ("tests/unit/test_convergence.py::test_returns_after_threshold_matches_in_a_row",
                   "tests/unit/test_convergence.py::test_one_match_is_not_enough")),
    HarnessMutant("miss-keeps-the-streak", "conformance.convergence", "            streak = []\n", "            pass\n",
                  "a miss resets the count of matches",
                  ("tests/unit/test_convergence.py::test_one_match_is_not_enough",)),
    HarnessMutant("skip-counts-as-pass", "conformance.report",
                  'elif report.skipped and self._outcome.get(name) != "failed":\n            self._outcome[name] = "skipped"',
                  'elif report.skipped and self._outcome.get(name) != "failed":\n            self._outcome[name] = "passed"',
                  "a skipped scenario is not a passed one",
                  ("tests/unit/test_report.py::test_a_skip_is_not_a_pass",)),
    HarnessMutant("not-run-vanishes", "conformance.report",
                  "            elif outcome is None:\n                profile.not_run.append(",
                  "            elif outcome is None:\n                continue\n                profile.not_run.append(",
                  "a scenario that never ran makes its profile partial",
                  ("tests/unit/test_report.py::test_a_scenario_that_never_ran_makes_the_profile_partial",
                   "tests/unit/test_report.py::test_deselected_scenarios_are_listed_with_the_reason",
                   "tests/unit/test_report.py::test_a_scenario_whose_file_was_not_collected_is_not_run_not_absent")),
    HarnessMutant("nothing-run-is-success", "conformance.report",
                  "self.provisional or not self.passed:", "self.provisional:",
                  "a profile in which no scenario ran is never success",
                  ("tests/unit/test_report.py::test_a_profile_with_nothing_run_is_never_success",)),
    HarnessMutant("exemption-is-success", "conformance.report",
                  "if self.skipped or self.exempt or", "if self.skipped or",
                  "an exempted feature keeps its profile from success",
                  ("tests/unit/test_report.py::test_an_exempted_feature_is_listed_apart_and_never_success",)),
    HarnessMutant("workers-results-lost", "conformance.report",
                  '        for name, outcome in state["outcome"].items():',
                  '        for name, outcome in ():',
                  "under xdist, the controller's report holds every worker's results",
                  ("tests/unit/test_report.py::test_workers_states_merge_into_one_complete_report",)),
    HarnessMutant("stand-in-counts-as-real", "conformance.report",
                  'elif outcome == "passed" and self._provisional_because(entry):\n                profile.provisional',
                  'elif False:\n                profile.provisional',
                  "a scenario checked against a stand-in, or with a step left unchecked, is not reported as conformant",
                  ("tests/unit/test_report.py::test_features_checked_against_a_stand_in_are_not_reported_as_conformant",
                   "tests/unit/test_report.py::test_a_step_the_target_could_not_check_keeps_the_scenario_from_counting")),
    HarnessMutant("judge-every-projects-tags", "conformance.binding",
                  "    if not ids:\n        return ids\n",
                  "    if False:\n        return ids\n",
                  "the suite judges the tags of its own scenarios only (those with an ID)",
                  ("tests/unit/test_feature_reading.py::test_a_scenario_without_an_id_is_not_the_suites_and_its_tags_are_not_judged",)),
]

# Checking that a credential was removed somewhere it never was makes stripping vacuous.
_PLACE_KILLERS = tuple(f"tests/unit/test_places.py::test_a_place_sees_the_key_where_it_was_put_and_nowhere_else[{w}]"
                      for w in ("header", "custom-header", "query", "cookie"))
MUTANTS += [
    HarnessMutant("header-checked-elsewhere", "agwmodel.carriers", "return echo_header(echo, self.name)",
                  'return echo_header(echo, "X-" + self.name)', "stripping is checked in the header the key was put in",
                  _PLACE_KILLERS[:2]),
    HarnessMutant("query-checked-elsewhere", "agwmodel.carriers", "value = args.get(self.name, [])",
                  "value = args.get(self.name.upper(), [])", "stripping is checked in the query parameter the key was put in",
                  _PLACE_KILLERS[2:3]),
    HarnessMutant("cookie-checked-elsewhere", "agwmodel.carriers", "if sep and name == self.name:",
                  "if sep and name.lower() == self.name.upper():", "stripping is checked in the cookie the key was put in",
                  _PLACE_KILLERS[3:]),
]
# Matches are taken back to back only where the target confirmed its change in force.
_CONFIRMED = "tests/integration/test_confirmed_changes.py::"
MUTANTS += [
    HarnessMutant("matches-never-spaced", "conformance.convergence", "if problem is not None or rule.spaced:", "if problem is not None:",
                  "matches are an interval apart unless the target confirms its changes",
                  ("tests/unit/test_convergence.py::test_matches_are_an_interval_apart_by_default",)),
    HarnessMutant("every-target-confirms", "conformance.targets.base", "    confirms_changes: bool = False", "    confirms_changes: bool = True",
                  "a target that cannot see its gateway take a change does not claim it",
                  (_CONFIRMED + "test_only_the_targets_tested_here_claim_it",)),
    HarnessMutant("apply-before-load", "conformance.targets.reference", "refusal = self._loaded(path)", "refusal = None",
                  "the reference target's apply returns only once its gateway serves the change",
                  (_CONFIRMED + "test_the_reference_target_confirms_each_change",)),
]
# Keys are masked in every output, those of steps a run never reached and those of JSON
# members named `key` in any case included.
_HYGIENE = "tests/e2e/test_secret_hygiene.py::test_no_output_holds_a_key"
MUTANTS += [
    HarnessMutant("unreached-steps-unmasked", "conformance.plugin", "request.node.stash[_FORESEEN] = foreseen_keys(scenario.steps)",
                  "request.node.stash[_FORESEEN] = set()", "the keys of the steps a failing run never reached are masked",
                  tuple(f"{_HYGIENE}[failing-{output}]" for output in ("junit.xml", "cucumber.json", "report.html"))),
    HarnessMutant("key-member-in-lower-case-only", "conformance.masking", "MASK if field == 'key' else member",
                  "MASK if name == 'key' else member", "a JSON entry's key is masked whatever the case of its member's name",
                  ("tests/unit/test_trace.py::test_a_key_member_in_any_case_is_masked_in_the_manifest_shown",)),
]

BY_NAME = {m.name: m for m in MUTANTS}
