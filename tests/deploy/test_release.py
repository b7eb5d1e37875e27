"""deploy/release.sh against a local directory (--root) and a stand-in ssh: releases,
the atomic `current` switch, hard links, rollback, pruning and failed deploys.

Each test builds a small git repository holding a copy of the script, so deploying it
exercises the real layout (the script finds its checkout from its own path). No venv or
pip (MONA_FRAME_SKIP_INSTALL=1); the service manager is a fake `systemctl` script.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "release.sh"
RELEASE_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{12}(-dirty)?$")

pytestmark = pytest.mark.skipif(
    shutil.which("rsync") is None or shutil.which("git") is None,
    reason="deploy/release.sh needs rsync and git (apt-get install rsync git)",
)

# A stand-in for models/fetch_models.py: "fetches" a model unless a good one is there,
# and logs each real fetch so tests can tell a fetch from a reused model.
FAKE_FETCH = textwrap.dedent(
    """\
    import os
    from pathlib import Path

    model = Path(__file__).resolve().parent / "face.tflite"
    if model.is_file() and model.read_bytes() == b"model v1":
        print("all 1 models already present")
    else:
        model.write_bytes(b"model v1")
        with open(os.environ["FAKE_FETCH_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{model}\\n")
        print("wrote 1 of 1 models")
    """
)

# A stand-in for ssh: drops the options and the host, runs the command here.
FAKE_SSH = textwrap.dedent(
    """\
    #!/bin/sh
    while [ "${1#-}" != "$1" ]; do
        case $1 in -l|-p|-i|-o) shift 2 ;; *) shift ;; esac
    done
    shift
    exec sh -c "$*"
    """
)

# A stand-in for sudo: logs the command, drops -n, runs it as this user.
FAKE_SUDO = textwrap.dedent(
    """\
    #!/bin/sh
    echo "$*" >> "$0.log"
    [ "$1" = -n ] && shift
    exec "$@"
    """
)

# A stand-in for systemctl: logs its arguments; `is-active` fails while $0.inactive exists.
FAKE_SYSTEMCTL = textwrap.dedent(
    """\
    #!/bin/sh
    echo "$*" >> "$0.log"
    if [ "$1" = is-active ] && [ -e "$0.inactive" ]; then exit 3; fi
    exit 0
    """
)


def outside_env(**extra: str) -> dict[str, str]:
    """This environment without GIT_* (a git hook's GIT_DIR would point every git command
    at the project's own repository) and without MONA_FRAME_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "MONA_FRAME_"))}
    return {**env, **extra}


@dataclass
class Project:
    """A throwaway git checkout holding deploy/release.sh, and a deploy root beside it."""

    src: Path
    root: Path
    fetch_log: Path

    def write(self, relative: str, text: str) -> None:
        path = self.src / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def commit(self, message: str) -> None:
        git(self.src, "add", "-A")
        git(self.src, "commit", "-q", "-m", message)

    def release(self, *args: str, env: dict[str, str] | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the checkout's deploy/release.sh --root ROOT ARGS."""
        full_env = outside_env(
            MONA_FRAME_SKIP_INSTALL="1",
            MONA_FRAME_NO_RESTART="1",
            FAKE_FETCH_LOG=str(self.fetch_log),
            **(env or {}),
        )
        result = subprocess.run(
            ["bash", str(self.src / "deploy" / "release.sh"), "--root", str(self.root), *args],
            cwd=self.src, env=full_env, capture_output=True, text=True, timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def releases(self) -> list[str]:
        directory = self.root / "releases"
        return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []

    def current(self) -> str:
        return os.readlink(self.root / "current").removeprefix("releases/")

    def fetches(self) -> int:
        return len(self.fetch_log.read_text().splitlines()) if self.fetch_log.exists() else 0


def git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid",
               "-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, cwd=cwd, env=outside_env(), check=True,
                          capture_output=True, text=True).stdout


def make_executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q")
    proj = Project(src=src, root=tmp_path / "root", fetch_log=tmp_path / "fetches.log")
    proj.write(".gitignore", ".venv/\n__pycache__/\nmodels/*.tflite\n")
    proj.write("deploy/release.sh", SCRIPT.read_text(encoding="utf-8"))
    proj.write("models/fetch_models.py", FAKE_FETCH)
    proj.write("frame/__init__.py", "VERSION = 1\n")
    proj.write("README.md", "unchanged between releases\n")
    proj.commit("first")
    return proj


def test_first_release_copies_the_tracked_files_only(project: Project) -> None:
    # The service user reads the release: private files become world-readable.
    (project.src / "README.md").chmod(0o600)
    project.write("scripts/tool.sh", "#!/bin/sh\n")
    (project.src / "scripts/tool.sh").chmod(0o700)
    project.commit("a script")
    project.write("notes.txt", "untracked\n")
    project.write("models/face.tflite", "a model in the working tree, ignored by git\n")
    project.write(".venv/bin/python", "ignored\n")

    result = project.release()

    [release_id] = project.releases()
    assert RELEASE_ID_RE.match(release_id)
    assert release_id.endswith(git(project.src, "rev-parse", "--short=12", "HEAD").strip())
    assert os.readlink(project.root / "current") == f"releases/{release_id}"
    release = project.root / "releases" / release_id
    assert (release / "frame" / "__init__.py").read_text() == "VERSION = 1\n"
    assert (release / "deploy" / "release.sh").is_file()
    assert not (release / "notes.txt").exists()
    assert not (release / ".venv").exists()
    # The model came from the fetch step, not from the working tree.
    assert (release / "models" / "face.tflite").read_bytes() == b"model v1"
    assert project.fetches() == 1
    assert list((release / "frame" / "__pycache__").glob("__init__.*.pyc"))
    assert f"release: switch current -> releases/{release_id}\n" in result.stdout
    assert (release / "README.md").stat().st_mode & 0o777 == 0o644
    assert (release / "scripts/tool.sh").stat().st_mode & 0o777 == 0o755
    assert (release / "frame").stat().st_mode & 0o777 == 0o755


def test_second_release_switches_current_and_hard_links_unchanged_files(
    project: Project,
) -> None:
    project.release()
    [first] = project.releases()
    project.write("frame/__init__.py", "VERSION = 2\n")  # same size, maybe same mtime
    project.commit("second")
    os.utime(project.src / "README.md", (1e9, 1e9))  # touched, not changed

    project.release()

    second = project.current()
    assert second != first
    assert project.releases() == [first, second]
    old, new = project.root / "releases" / first, project.root / "releases" / second
    assert (new / "README.md").stat().st_ino == (old / "README.md").stat().st_ino
    assert (new / "frame/__init__.py").stat().st_ino != (old / "frame/__init__.py").stat().st_ino
    assert (new / "frame/__init__.py").read_text() == "VERSION = 2\n"
    # The model was reused from the first release (a hard link), not fetched again.
    assert (new / "models/face.tflite").stat().st_ino == (old / "models/face.tflite").stat().st_ino
    assert project.fetches() == 1


def test_rollback_points_current_at_the_previous_release(project: Project) -> None:
    project.release()
    [first] = project.releases()
    project.write("frame/__init__.py", "VERSION = 2\n")
    project.commit("second")
    project.release()

    result = project.release("--rollback")

    assert project.current() == first
    assert len(project.releases()) == 2
    assert f"current is {first}" in result.stdout
    failed = project.release("--rollback", check=False)
    assert failed.returncode != 0
    assert "no release older" in failed.stderr
    assert project.current() == first


def test_rollback_without_a_release_fails(project: Project) -> None:
    result = project.release("--rollback", check=False)
    assert result.returncode != 0
    assert "nothing to roll back" in result.stderr


def test_keep_prunes_old_releases(project: Project) -> None:
    for version in (1, 2, 3):
        project.write("frame/__init__.py", f"VERSION = {version + 10}\n")
        project.commit(f"version {version}")
        project.release("--keep", "2")

    kept = project.releases()
    assert len(kept) == 2
    assert project.current() == kept[-1]


def test_prune_never_removes_the_current_release(project: Project) -> None:
    for version in (1, 2, 3):
        project.write("frame/__init__.py", f"VERSION = {version + 10}\n")
        project.commit(f"version {version}")
        project.release()
    oldest, middle, newest = project.releases()
    project.release("--rollback")
    project.release("--rollback")
    assert project.current() == oldest

    project.release("--prune", "--keep", "1")

    assert project.releases() == [oldest, newest]
    assert project.current() == oldest


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("models/fetch_models.py", "raise SystemExit('fetch_models: no network')\n"),
        ("frame/broken.py", "def broken(:\n"),
    ],
    ids=["model-fetch-fails", "bytecode-compile-fails"],
)
def test_a_failed_step_leaves_current_and_no_half_release(
    project: Project, path: str, text: str
) -> None:
    project.release()
    [first] = project.releases()
    project.write(path, text)
    project.commit("broken")

    result = project.release(check=False)

    assert result.returncode != 0
    assert "current unchanged" in result.stderr
    assert project.releases() == [first]
    assert project.current() == first
    assert not [p for p in project.root.iterdir() if p.name.startswith(".current")]


def test_a_half_built_release_left_by_a_killed_deploy_is_removed(project: Project) -> None:
    project.release()
    [first] = project.releases()
    stale = project.root / "releases" / "20000101T000000Z-0123456789ab"
    (stale / "frame").mkdir(parents=True)
    project.write("frame/__init__.py", "VERSION = 2\n")
    project.commit("second")

    result = project.release()

    assert not stale.exists()
    assert "half-built" in result.stderr
    assert project.releases() == [first, project.current()]


def test_the_running_commit_is_not_deployed_again_without_force(project: Project) -> None:
    project.release()
    [first] = project.releases()

    result = project.release()
    assert "nothing to deploy" in result.stdout
    assert project.releases() == [first]

    project.release("--force")
    assert len(project.releases()) == 2


def test_uncommitted_changes_make_a_dirty_release(project: Project) -> None:
    project.release()
    project.write("frame/__init__.py", "VERSION = 99\n")
    (project.src / "README.md").unlink()

    project.release()

    current = project.current()
    assert current.endswith("-dirty")
    release = project.root / "releases" / current
    assert (release / "frame/__init__.py").read_text() == "VERSION = 99\n"
    assert not (release / "README.md").exists()


def test_dry_run_changes_nothing(project: Project) -> None:
    result = project.release("--dry-run")

    assert not project.root.exists()
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("release: [dry run] ") for line in lines)
    assert any("switch current" in line for line in lines)


@pytest.mark.parametrize(
    "args",
    [["--keep", "0"], ["--host", "pi@frame"], ["--bogus"]],
    ids=["keep-zero", "host-and-root", "unknown-option"],
)
def test_bad_arguments_are_refused(project: Project, args: list[str]) -> None:
    result = project.release(*args, check=False)
    assert result.returncode != 0
    assert "release: error: " in result.stderr
    assert not project.root.exists()


def test_over_ssh_a_service_that_does_not_come_up_is_rolled_back(
    project: Project, tmp_path: Path
) -> None:
    ssh = make_executable(tmp_path / "fake-ssh", FAKE_SSH)
    systemctl = make_executable(tmp_path / "fake-systemctl", FAKE_SYSTEMCTL)
    (tmp_path / "bin").mkdir()
    sudo = make_executable(tmp_path / "bin" / "sudo", FAKE_SUDO)
    env = {
        "PATH": f"{sudo.parent}{os.pathsep}{os.environ['PATH']}",
        "MONA_FRAME_SSH": f"{ssh} -p 22",
        "MONA_FRAME_REMOTE_ROOT": str(project.root),
        "MONA_FRAME_SYSTEMCTL": str(systemctl),
        "MONA_FRAME_VERIFY_DELAY_S": "0",
    }

    def deploy(check: bool = True) -> subprocess.CompletedProcess[str]:
        # --host instead of the fixture's --root: run the checkout's script directly.
        result = subprocess.run(
            ["bash", "deploy/release.sh", "--host", "pi@frame"], cwd=project.src,
            env=outside_env(MONA_FRAME_SKIP_INSTALL="1",
                            FAKE_FETCH_LOG=str(project.fetch_log), **env),
            capture_output=True, text=True, timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    deploy()
    [first] = project.releases()
    assert project.current() == first
    log = Path(f"{systemctl}.log")
    assert log.read_text().splitlines() == ["restart mona-frame", "is-active --quiet mona-frame"]
    # Not root@: the target's steps and rsync ran through sudo -n.
    sudo_calls = [line.split()[:2] for line in Path(f"{sudo}.log").read_text().splitlines()]
    assert sudo_calls == [["-n", "bash"], ["-n", "rsync"], ["-n", "bash"]]

    Path(f"{systemctl}.inactive").touch()
    project.write("frame/__init__.py", "VERSION = 2\n")
    project.commit("second")
    result = deploy(check=False)

    assert result.returncode != 0
    assert "rolled back to " + first in result.stderr
    assert project.current() == first
    assert project.releases() == [first]
    assert log.read_text().splitlines()[-1] == "restart mona-frame"
