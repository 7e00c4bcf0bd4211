"""Which suite a report names (conformance/provenance.py): a checkout's commit from git, an
installed copy's from what its build recorded, and `unknown` rather than a guess."""

from __future__ import annotations

import shutil
import subprocess
import sys

from helpers import ROOT

from conformance import provenance

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def test_a_build_record_is_read_back(tmp_path):
    path = tmp_path / provenance.BUILD_INFO
    path.write_text(provenance.build_info("0123abcd-dirty"))
    assert provenance.recorded_commit(path) == "0123abcd-dirty"


def test_no_record_an_unknown_one_or_anything_else_is_none(tmp_path):
    assert provenance.recorded_commit(tmp_path / "missing.py") is None
    for text in (provenance.build_info(provenance.UNKNOWN), "COMMIT = compute()\n", "COMMIT = 'unclosed\n", "OTHER = 'abc'\n"):
        (tmp_path / "record.py").write_text(text)
        assert provenance.recorded_commit(tmp_path / "record.py") is None, text


def test_a_checkout_names_its_head_and_whether_tracked_files_changed():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert provenance.git_commit(ROOT) == head + ("-dirty" if dirty else "")
    assert provenance.suite_commit() == provenance.git_commit(ROOT)


def test_a_directory_inside_a_checkout_is_not_a_checkout():
    assert provenance.git_commit(ROOT / "conformance") is None


def installed_copy(site, record: str | None) -> str:
    """suite_commit() of a copy of the package installed in `site`, with this build record."""
    package = site / "conformance"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(provenance.__file__, package / "provenance.py")
    if record is not None:
        (package / provenance.BUILD_INFO).write_text(provenance.build_info(record))
    code = f"import sys; sys.path.insert(0, {str(site)!r}); from conformance.provenance import suite_commit; print(suite_commit())"
    return subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_an_installed_copy_names_what_its_build_recorded_even_inside_another_repository(tmp_path):
    # A virtual environment inside some project's git checkout: that project's commit is not the suite's.
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run([*GIT, "-C", str(project), "init", "-q"], check=True)
    subprocess.run([*GIT, "-C", str(project), "commit", "-q", "--allow-empty", "-m", "theirs"], check=True)
    site = project / "venv" / "site-packages"
    assert installed_copy(site, "f" * 40) == "f" * 40


def test_an_installed_copy_without_a_record_says_unknown(tmp_path):
    assert installed_copy(tmp_path / "site-packages", None) == provenance.UNKNOWN
