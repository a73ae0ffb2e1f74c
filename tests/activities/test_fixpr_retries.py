"""Issue 14 (3): the fix PR activities that write to GitHub are idempotent across a crash. A retry whose
killed attempt already posted the note (or comment) finds it instead of posting it twice. Against the
GitHub simulator through PyGithub (the `sim` fixture of test_github_strategies)."""

from __future__ import annotations

from activities import fixpr
from contracts.fixpr import CloseFixArgs, FixPRRef, PublishArgs
from domain.ci_healing.runs import CIRunRef, Provider
from tests.activities.test_github_strategies import REPO, Sim, sim  # noqa: F401 (the fixture)


def fix_pr(sim: Sim) -> FixPRRef:  # noqa: F811
    """An open PR of the simulator, as the fix PR of a failed run."""
    pr = sim.open()
    run = CIRunRef(provider=Provider.GITHUB, project=REPO, run_id=1)
    return FixPRRef(run=run, number=pr.number, branch=sim.pull(pr).head.ref)


def comments(sim: Sim, number: int) -> list[str]:  # noqa: F811
    return [c.body for c in sim.github.get_repo(REPO).get_issue(number).get_comments()]


def test_a_close_retried_after_its_note_posts_the_note_once(sim: Sim) -> None:  # noqa: F811
    pr = fix_pr(sim)
    note = "Closed by Mender: rejected by bob: pin a safe version"
    sim.github.get_repo(REPO).get_issue(pr.number).create_comment(note)  # the killed attempt got this far
    fixpr.close(CloseFixArgs(pr=pr, reason="rejected by bob: pin a safe version"))  # its retry
    assert sim.github.get_repo(REPO).get_pull(pr.number).state == "closed"
    assert comments(sim, pr.number).count(note) == 1


def test_a_publish_retried_after_its_comment_posts_it_once(sim: Sim) -> None:  # noqa: F811
    pr = fix_pr(sim)
    why = "a high-severity finding blocks merging by Mender: merge it yourself after review"
    args = PublishArgs(pr=pr, section="", label="mender:security-blocked", comment=why)
    fixpr.publish(args)  # then the worker dies before the workflow hears of it
    fixpr.publish(args)  # the retry
    assert comments(sim, pr.number).count(why) == 1
    assert [label.name for label in sim.github.get_repo(REPO).get_pull(pr.number).labels].count(
        "mender:security-blocked"
    ) == 1
