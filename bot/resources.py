"""Files the bot ships with — message templates and sample data — found through importlib.resources.

The repository keeps them at the top level (`templates/`, `data/`); pyproject.toml maps those folders into
the package as `bot.templates` and `bot.data`, so a wheel, `pip install .` and an editable install all
find them inside the installed package, wherever the bot is started from. Migrations live inside
`storage.migrations` (see storage/migrate.py).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

TEMPLATES_PACKAGE = "bot.templates"
DATA_PACKAGE = "bot.data"
# Only for a checkout run without installing (PYTHONPATH=.), where the mapping above does not exist.
_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def packaged_dir(package: str) -> Path:
    """The folder of a data package (`bot.templates`, `bot.data`) as a real directory on disk."""
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        return _CHECKOUT_ROOT / package.rpartition(".")[2]
    if not isinstance(root, Path):
        # Jinja's FileSystemLoader and rglob need a directory: a zipped install cannot serve templates.
        raise RuntimeError(f"{package} is not installed as a directory ({root!r}); install the bot unzipped")
    return root


def templates_dir() -> Path:
    return packaged_dir(TEMPLATES_PACKAGE)


def sample_programme_file() -> Path:
    return packaged_dir(DATA_PACKAGE) / "programme.yaml"


def sample_faq_file() -> Path:
    return packaged_dir(DATA_PACKAGE) / "faq.yaml"


def sample_smalltalk_file() -> Path:
    return packaged_dir(DATA_PACKAGE) / "smalltalk.yaml"
