"""The bot as a shop installs it: a wheel in a fresh virtual environment, run from another directory.

The wheel test is marked slow (it builds, creates a venv and installs the dependencies); the README's test
command leaves it out and `.ci/run` runs it with `pytest -m slow`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from setuptools import find_packages

from bot.resources import DATA_PACKAGE, TEMPLATES_PACKAGE
from tests.conftest import MERCHANT, PROJECT_ROOT, TEST_TOKEN
from tests.fakes import updates
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_server import FakeBotApiServer
from tests.fakes.updates import TgUser

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
ARABIC = TgUser(id=7301, first_name="سارة", language_code="ar")
ENGLISH = TgUser(id=7302, first_name="Sam", language_code="en")


def test_the_package_list_names_every_package_in_bot_and_storage():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(PROJECT_ROOT), include=["bot", "bot.*", "storage", "storage.*"]))
    assert listed == found | {TEMPLATES_PACKAGE, DATA_PACKAGE}


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # From a copy: setuptools builds in ./build and packs whatever an earlier build left there (modules
    # since moved or deleted would ship again).
    source = tmp_path_factory.mktemp("source") / "checkout"
    shutil.copytree(
        PROJECT_ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db*"
        ),
    )
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source, cwd=out)
    (built,) = out.glob("engagement_bot-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_carries_templates_sample_data_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        f"bot/templates/{path.relative_to(PROJECT_ROOT / 'templates').as_posix()}"
        for path in (PROJECT_ROOT / "templates").rglob("*.html")
    }
    assert sources and sources <= names
    assert "bot/data/faq.yaml" in names and "bot/data/programme.yaml" in names
    versions = {
        f"storage/migrations/versions/{p.name}"
        for p in (PROJECT_ROOT / "storage/migrations/versions").glob("*.py")
    }
    assert (
        versions <= names
        and "storage/migrations/env.py" in names
        and "storage/migrations/script.py.mako" in names
    )
    assert not any(name.startswith(("tests/", "templates/", "data/")) for name in names)


@pytest.mark.slow
async def test_an_installed_wheel_migrates_and_answers_start_in_both_languages(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q"]
    lock = PROJECT_ROOT / "requirements.lock"
    _run(*pip, *(["-c", lock] if lock.exists() else []), wheel, cwd=tmp_path)

    elsewhere = tmp_path / "shop"  # neither the checkout nor where the venv lives
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "PORT"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{elsewhere}/shop.db", LOG_LEVEL="WARNING")
    out = _run(venv / "bin" / "engagement-bot", "migrate", cwd=elsewhere, env=env)
    assert "up to date" in out and (elsewhere / "shop.db").stat().st_size > 0
    # The installed code, not the checkout's, is what runs.
    located = _run(
        venv / "bin" / "python",
        "-c",
        "import bot, bot.resources as r; print(bot.__file__, r.templates_dir())",
        cwd=elsewhere,
        env=env,
    )
    assert str(PROJECT_ROOT) not in located and str(venv) in located

    api = FakeBotApi()
    async with FakeBotApiServer(api) as server:
        env.update(
            BOT_TOKEN=TEST_TOKEN,
            TELEGRAM_API_URL=server.url,
            MERCHANT_IDS=str(MERCHANT.id),
            SHOP_NAME="Wheel Shop",
        )
        process = await asyncio.create_subprocess_exec(
            venv / "bin" / "python",
            "-m",
            "bot",
            "run",
            cwd=elsewhere,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            api.push_update(updates.command(ARABIC, "/start"))
            api.push_update(updates.command(ENGLISH, "/start"))
            arabic = await api.wait_for(
                lambda c: c.method == "sendMessage" and c.chat_id == ARABIC.id, timeout=60
            )
            english = await api.wait_for(
                lambda c: c.method == "sendMessage" and c.chat_id == ENGLISH.id, timeout=60
            )
            assert "أهلًا بك في" in (arabic.text or "") and "سارة" in (arabic.text or "")
            assert "Welcome to Wheel Shop, Sam!" in (english.text or "")
        finally:
            process.terminate()
            output, _ = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, output.decode()
        assert "Traceback" not in output.decode()
