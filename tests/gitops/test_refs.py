"""Branch names: every name we accept, git accepts too (git check-ref-format is the oracle)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.gitops.refs import branch_problem, check_branch

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="needs Debian's git")


def git_accepts(name: str) -> bool:
    done = subprocess.run([GIT or "git", "check-ref-format", "--allow-onelevel",
                           f"refs/heads/{name}"], capture_output=True)
    return done.returncode == 0


names = st.text(alphabet=st.sampled_from("ab/._-@{}~^:?*[\\ \x7f\t"), max_size=20)
readable = st.text(alphabet=st.sampled_from("abz09/._-"), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(names | readable)
def test_accepted_names_are_valid_git_branches(name: str) -> None:
    if branch_problem(name) is None:
        assert git_accepts(name), name
        assert not name.startswith("-")


@settings(max_examples=300, deadline=None)
@given(readable)
def test_on_the_safe_alphabet_we_agree_with_git(name: str) -> None:
    ours = branch_problem(name) is None
    assert ours == (git_accepts(name) and not name.startswith("-") and name != "HEAD")


@pytest.mark.parametrize("name", ["remediator/r-1", "remediator/2026-12-07/abc.1", "fix_it"])
def test_remediation_branches_pass(name: str) -> None:
    assert check_branch(name) == name


@pytest.mark.parametrize(("name", "rule"), [
    ("", "must be 1 to 200 characters"),
    ("x" * 201, "must be 1 to 200 characters"),
    ("a b", "may hold only"),
    ("a@{1}", "may hold only"),
    ("-rf", "may not start with '-'"),
    ("a/", "nor end with '/'"),
    ("a..b", "may not contain '..'"),
    ("a/.hidden", "no part may start with '.'"),
    ("a.lock", "end with '.lock'"),
])
def test_refused_names_say_which_rule(name: str, rule: str) -> None:
    with pytest.raises(ValueError, match="^branch .* " + rule.replace(".", r"\.")):
        check_branch(name)
