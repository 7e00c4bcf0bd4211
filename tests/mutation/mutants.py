"""Hand-written mutants of the reference gateway's authentication rules.

Each mutant is a textual edit of one module, applied in memory before the gateway starts
(nothing on disk changes). A suite that is worth its name fails against every one of
them; `tests/test_mutants.py` checks that, and reports the score.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str
    old: str
    new: str
    rule: str  # which rule of the spec it breaks


MUTANTS = [
    Mutant("auth-disabled", "reference.proxy", "decision = decide(", "decision = __import__('reference.decision').decision.Decision(True) or decide(",
           "authentication is enforced at all"),
    # decision table (spec section 4)
    Mutant("strict-allows-missing", "reference.decision", 'if mode == "Strict":\n            return Decision(False, MISSING)',
           'if mode == "Strict":\n            return Decision(True)', "Strict refuses a missing key"),
    Mutant("optional-refuses-missing", "reference.decision", 'if mode == "Strict":\n            return Decision(False, MISSING)',
           'if mode != "Permissive":\n            return Decision(False, MISSING)', "Optional lets a key-less request through"),
    Mutant("optional-accepts-invalid", "reference.decision", 'if mode == "Permissive":\n        return Decision(True)',
           'if mode in ("Permissive", "Optional"):\n        return Decision(True)', "Optional refuses an invalid key"),
    Mutant("permissive-refuses-invalid", "reference.decision", 'if mode == "Permissive":\n        return Decision(True)',
           'if mode == "Never":\n        return Decision(True)', "Permissive forwards an invalid key"),
    Mutant("permissive-strips-invalid", "reference.decision", 'if mode == "Permissive":\n        return Decision(True)',
           'if mode == "Permissive":\n        return Decision(True, strip=True)', "Permissive leaves an invalid credential in place"),
    Mutant("forward-credential", "reference.decision", "Decision(True, strip=True, entry=entry)", "Decision(True, strip=False, entry=entry)",
           "a valid credential is removed before forwarding"),
    Mutant("invalid-reported-as-missing", "reference.decision", "return Decision(False, INVALID)", "return Decision(False, MISSING)",
           "invalid credentials has its own message"),
    Mutant("missing-reported-as-invalid", "reference.decision", "return Decision(False, MISSING)", "return Decision(False, INVALID)",
           "a missing key has its own message"),
    # extraction (section 3)
    Mutant("prefix-case-sensitive", "reference.credentials", "if value[: len(prefix)].lower() != prefix.lower():",
           "if value[: len(prefix)] != prefix:", "the Bearer prefix is case-insensitive"),
    Mutant("prefix-optional", "reference.credentials", "if value[: len(prefix)].lower() != prefix.lower():\n                return None",
           "if value[: len(prefix)].lower() != prefix.lower():\n                return value", "a value without the prefix is no key"),
    Mutant("presented-key-trimmed", "reference.credentials", "return value[len(prefix) :]", "return value[len(prefix) :].strip()",
           "the presented key is not trimmed"),
    Mutant("last-header-counts", "reference.credentials", "for key, value in headers:\n        if key == name:\n            return value",
           "for key, value in reversed(headers):\n        if key == name:\n            return value", "the first Authorization header counts"),
    Mutant("non-ascii-accepted", "reference.credentials", "if value is None or not _visible_ascii(value):", "if value is None:",
           "a value that is not visible ASCII is no key"),
    Mutant("query-name-case-insensitive", "reference.credentials", "if _decode(key) == name:", "if _decode(key).lower() == name.lower():",
           "query parameter names are case-sensitive"),
    Mutant("query-stripped-whole", "reference.credentials", 'return headers, b"&".join(kept)', 'return headers, b""',
           "other query parameters are kept"),
    Mutant("cookies-stripped-whole", "reference.credentials", "        if kept:\n            out.append((key, b\"; \".join(kept)))",
           "        pass", "other cookies are kept"),
    # key entries (section 2)
    Mutant("raw-value-trimmed", "reference.keys", "return KeyEntry(digest(value))", "return KeyEntry(digest(value.strip()))",
           "raw values are used untrimmed"),
    Mutant("keys-case-insensitive", "reference.keys", "return hashlib.sha256(key).digest()", "return hashlib.sha256(key.lower()).digest()",
           "keys are compared case-sensitively"),
    Mutant("configmap-accepts-raw", "reference.keys",
           '    if not value.strip().startswith(b"{"):\n        if hashed_only:\n            raise InvalidEntry("only hashed keys (keyHash) are allowed here")',
           '    if not value.strip().startswith(b"{"):\n        pass', "ConfigMap entries must be hashed"),
    # sources, precedence, status (sections 2, 7, 8)
    Mutant("missing-secret-fails-open", "reference.config", '            problems.append(f"secret {ns}/{source.name} not found")',
           '            problems.append(f"secret {ns}/{source.name} not found")\n'
           '            return AuthPolicy(__import__("dataclasses").replace(policy, api_key=__import__("dataclasses").replace(auth, mode="Permissive")), KeySet(), tuple(problems))',
           "a missing Secret denies everything"),
    Mutant("bad-entry-poisons-source", "reference.config", 'problems.append(f"{label} {store.meta.name} contains invalid key {entry_name}: {exc}")',
           'problems.append(f"{label} {store.meta.name} contains invalid key {entry_name}: {exc}"); entries.clear(); break',
           "a bad entry is skipped, the others stay in force"),
    Mutant("override-ignored", "reference.config", 'if policy.policy.inheritance == "Override":', "if False:",
           "strategy.inheritance: Override keeps the less specific policy"),
    Mutant("least-specific-wins", "reference.config", "        winner = policy\n    return winner",
           "        winner = winner or policy\n    return winner", "a more specific policy replaces a less specific one"),
    Mutant("status-always-valid", "reference.config", "        if ap.problems:\n", "        if False:\n",
           "problems are reported as PartiallyValid"),
]

BY_NAME = {m.name: m for m in MUTANTS}


def apply(mutant: Mutant) -> None:
    """Re-execute `mutant.module` with the edit, in place, before anything imports from it."""
    module = importlib.import_module(mutant.module)
    source = open(module.__file__).read()
    count = source.count(mutant.old)
    if count != 1:
        raise SystemExit(f"mutant {mutant.name}: the text to replace occurs {count} times in {mutant.module}; update the mutant")
    exec(compile(source.replace(mutant.old, mutant.new), module.__file__, "exec"), module.__dict__)
