"""Issue 17: a GitLab failure handed to a human, then a green pipeline of the same job on the same ref:
the commits in between (GitLab's compare API, python-gitlab over real HTTP against the simulator)
become a learned fix when small and replayable; application code is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.ci_learning import learn_from_human_fixes
from domain.ci_healing.config import LearningConfig
from domain.ci_healing.learned import EditKind
from runtime.serving import ServerThread
from runtime.settings import get_settings, set_settings
from simulators.gitlab import GitLabSimConfig, GitLabSimulator
from simulators.gitlab import create_app as create_gitlab
from store import ci_failures, learned_fixes
from store.db import engine_for
from tests.support.stack import make_settings

LOG = "$ pytest\nModuleNotFoundError: No module named 'acme_sdk'\nJob failed\n"
CI = "variables:\n  PIP_CACHE_DIR: .cache\nunit:\n  script:\n    - pytest\n"


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[GitLabSimulator]:
    sim = GitLabSimulator(GitLabSimConfig(ci_seconds=0.1))
    with ServerThread(create_gitlab(sim)) as server:
        sim.set_base_url(server.url)
        make_settings(tmp_path, ci={"gitlab": {"simulator_url": server.url}})
        yield sim
    set_settings(None)


def handed_over(project: str, pipeline_id: int) -> str:
    engine = engine_for(get_settings().database_url)
    workflow_id = f"ci/gitlab/{project}/{pipeline_id}"
    row = {"workflow_id": workflow_id, "provider": "gitlab", "project": project, "run_id": pipeline_id}
    line = "ModuleNotFoundError: No module named 'acme_sdk'"
    ci_failures.upsert_ci_failure(
        engine,
        {**row, "stage": "escalated", "outcome": "escalated", "category": "dependency", "key_line": line},
    )
    return workflow_id


@pytest.mark.parametrize(
    ("files", "kinds"),
    [
        ({"requirements.txt": "flask\nacme-sdk==2.1\n"}, [EditKind.REQUIREMENT]),
        (
            {".gitlab-ci.yml": CI.replace("variables:\n", "variables:\n  SDK_HOME: /opt/sdk\n")},
            [EditKind.WORKFLOW_ENV],
        ),
    ],
)
def test_a_human_fix_on_gitlab_is_learned(
    gitlab: GitLabSimulator, tmp_path: Path, files: dict[str, str], kinds: list[EditKind]
) -> None:
    engine = engine_for(get_settings().database_url)
    project, config = "acme/api", LearningConfig()
    gitlab.add_files(project, {"requirements.txt": "flask\n", ".gitlab-ci.yml": CI, "app.py": "x = 1\n"})
    failed = gitlab.add_pipeline(project, LOG, heals_on="never", job="unit")
    workflow_id = handed_over(project, failed.id)
    assert learn_from_human_fixes(engine, project, config) == []  # no green pipeline yet
    green = gitlab.fix_by_hand(project, failed.id, files)
    assert learn_from_human_fixes(engine, project, config, ("github",)) == []  # the poller asks per provider
    assert green.status == "success" and [j.name for j in green.jobs] == ["build", "unit"]
    [learned] = learn_from_human_fixes(engine, project, config)
    assert learned.endswith(f"from {workflow_id}")
    [fix] = learned_fixes.all_fixes(engine)
    assert [e.kind for e in fix.edits] == kinds and fix.learned_from == workflow_id
    assert fix.source_url.endswith(f"/-/compare/{failed.sha}...{green.sha}") and len(fix.commits) == 1
    assert learn_from_human_fixes(engine, project, config) == []  # examined once


def test_application_code_fixed_on_gitlab_is_refused(gitlab: GitLabSimulator, tmp_path: Path) -> None:
    engine = engine_for(get_settings().database_url)
    project = "acme/web"
    gitlab.add_files(project, {"app.py": "x = 1\n"})
    failed = gitlab.add_pipeline(project, LOG, heals_on="never", job="unit")
    handed_over(project, failed.id)
    gitlab.fix_by_hand(project, failed.id, {"app.py": "x = 2\n"})
    assert learn_from_human_fixes(engine, project, LearningConfig()) == []
    assert learned_fixes.all_fixes(engine) == []
    assert learned_fixes.examined(engine, [f"ci/gitlab/{project}/{failed.id}"])
