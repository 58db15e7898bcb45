"""The files that install the bot elsewhere stay true to the code: lock files that satisfy pyproject.toml,
and a Dockerfile / compose.yaml that copy what exists and run what the README says (this machine cannot
build images, so these are read, not run)."""

from __future__ import annotations

import re
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.settings import Settings
from tests.conftest import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _pins(lock: str) -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / lock).read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)", line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _unsatisfied(requirements: list[str], pins: dict[str, str]) -> list[str]:
    missing = []
    for text in requirements:
        requirement = Requirement(text)
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{text} (locked: {version})")
    return missing


def test_the_runtime_lock_pins_every_dependency_within_its_bounds():
    assert _unsatisfied(PYPROJECT["project"]["dependencies"], _pins("requirements.lock")) == []


def test_the_dev_lock_pins_every_dependency_and_extra_within_its_bounds():
    extras = PYPROJECT["project"]["optional-dependencies"]
    wanted = PYPROJECT["project"]["dependencies"] + extras["test"] + extras["bench"]
    assert _unsatisfied(wanted, _pins("requirements-dev.lock")) == []


# New tzdata releases only add and correct time zones: the newest is always the right one.
UNBOUNDED = {"tzdata"}


def test_every_dependency_but_tzdata_has_an_upper_bound():
    for text in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(text)
        if requirement.name in UNBOUNDED:
            continue
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier), text


def test_the_dockerfile_installs_from_the_lock_as_a_non_root_user_and_copies_what_exists():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "-r requirements.lock" in dockerfile and "--no-deps ." in dockerfile
    for source in re.findall(r"^COPY (?!--from)(\S+) ", dockerfile, flags=re.MULTILINE):
        assert (PROJECT_ROOT / source).exists(), source
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert dockerfile.rstrip().endswith('CMD ["python", "-m", "bot", "run"]')
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for needed in ("bot", "storage", "templates", "data", "requirements.lock", "pyproject.toml"):
        assert needed not in ignored


def test_compose_runs_the_bot_on_postgresql_with_a_url_the_settings_accept():
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8"))
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    url = bot["environment"]["DATABASE_URL"]
    user, password, name = (
        db["environment"]["POSTGRES_USER"],
        db["environment"]["POSTGRES_PASSWORD"],
        (db["environment"]["POSTGRES_DB"]),
    )
    assert url == f"postgresql+asyncpg://{user}:{password}@db:5432/{name}"
    assert Settings(_env_file=None, database_url=url).database_url == url
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["build"] == "."
