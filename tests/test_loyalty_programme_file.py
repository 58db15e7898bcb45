"""The loyalty programme file (LOYALTY_PROGRAMME_FILE): tiers and rewards in both languages from YAML,
checked at start with an error naming the file, line and field; LOYALTY_TIERS / LOYALTY_REWARDS remain
the fallback when no file is set."""

from __future__ import annotations

import textwrap

import pytest

from bot import resources
from bot.loyalty import programme_file
from bot.settings import SettingsError, load_settings
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import ingest, make_customer

HIND = TgUser(id=6301, first_name="هند", language_code="ar")
EMMA = TgUser(id=6302, first_name="Emma", language_code="en")

PROGRAMME = """\
tiers:
  - name: {en: Member, ar: عضو}
    min_spend: 0
    multiplier: 1
  - name:
      en: Star
      ar: نجمة
    min_spend: 100
    multiplier: 2
rewards:
  - id: TEA
    cost: 10
    benefit: {en: A cup of tea, ar: كوب شاي}
"""


@pytest.fixture
def programme_path(tmp_path):
    path = tmp_path / "programme.yaml"
    path.write_text(PROGRAMME, encoding="utf-8")
    return path


@pytest.fixture
def settings(settings, programme_path):
    return settings.model_copy(update={"loyalty_programme_file": programme_path})


def test_the_sample_file_is_the_default_programme():
    from_env = load_settings(_env_file=None)
    from_file = load_settings(_env_file=None, loyalty_programme_file=str(resources.sample_programme_file()))
    assert from_file.loyalty_programme == from_env.loyalty_programme


def test_the_file_wins_over_the_settings_and_the_settings_stay_the_fallback(programme_path):
    with_file = load_settings(
        _env_file=None, loyalty_programme_file=str(programme_path), loyalty_tiers="Only|وحيد:0:3"
    )
    assert [tier.name for tier in with_file.loyalty_programme.tiers("ar")] == ["عضو", "نجمة"]
    assert with_file.loyalty_programme.reward("TEA", "en").benefit == "A cup of tea"
    for blank in (None, "", "  "):
        fallback = load_settings(_env_file=None, loyalty_programme_file=blank, loyalty_tiers="Only|وحيد:0:3")
        assert fallback.loyalty_programme_file is None
        assert [tier.name for tier in fallback.loyalty_programme.tiers("ar")] == ["وحيد"]
        assert fallback.loyalty_programme.reward("COFFEE", "ar").benefit == "قهوة مجانية"


async def test_customers_see_the_files_tiers_and_rewards_in_their_language(harness, monkeypatch):
    def read_again(path):
        raise AssertionError("programme file read after start")

    harness.app.bot_data["settings"].loyalty_programme  # noqa: B018  (read once, as the start does)
    monkeypatch.setattr(programme_file, "read_programme_file", read_again)
    settings = harness.app.bot_data["settings"]
    hind = await make_customer(harness.db, settings, HIND.id, locale="ar")
    await ingest(harness.db, settings, "P-1", 15_000, customer_id=hind.id)  # 150: the second tier
    await harness.send(updates.command(HIND, "/balance"))
    assert "نجمة" in harness.last_text_to(HIND)
    await harness.send(updates.command(HIND, "/rewards"))
    assert any("كوب شاي" in text for text, _ in harness.buttons_to(HIND))
    await make_customer(harness.db, settings, EMMA.id)
    await harness.send(updates.command(EMMA, "/rewards"))
    assert ("A cup of tea · 10 pts", "loy:r:TEA") in harness.buttons_to(EMMA)


def refusal(tmp_path, text: str) -> str:
    path = tmp_path / "programme.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, loyalty_programme_file=str(path))
    message = str(refused.value)
    prefix = f"setting LOYALTY_PROGRAMME_FILE is invalid: {path}"
    assert message.startswith(prefix), message
    return message.removeprefix(prefix)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("multiplier: 2", "multiplier: 500"), ", line 9, tiers[1].multiplier: Input should be less than"),
        (("multiplier: 2", "multiplier: .inf"), ", line 9, tiers[1].multiplier:"),
        (("multiplier: 2", "mutliplier: 2"), ", line 5, tiers[1].multiplier: Field required"),
        (("min_spend: 100", "min_spend: 1.5"), ", line 8, tiers[1].min_spend: Input should be a valid int"),
        (("min_spend: 0", "min_spend: 50"), ", line 3, tiers[0].min_spend: the lowest tier must start at 0"),
        (("min_spend: 100", "min_spend: 0"), ", line 8, tiers[1].min_spend: another tier has the same"),
        (("      ar: نجمة\n", ""), ", line 5, tiers[1].name.ar: Field required"),
        (("cost: 10", "cost: 0"), ", line 12, rewards[0].cost: Input should be greater than 0"),
        (("id: TEA", "id: TEA TIME"), ", line 11, rewards[0].id: String should match pattern"),
        (("A cup of tea", "x" * 65), ", line 13, rewards[0].benefit.en: String should have at most 64"),
        (("rewards:", "rewardz:"), ", line 10, rewardz: Extra inputs are not permitted"),
        (("cost: 10", "cost: 10\n    validity_days: 0"), ", line 13, rewards[0].validity_days: Input"),
        (("cost: 10", "cost: 10\n    min_order: 2.5"), ", line 13, rewards[0].min_order: Input"),
        (("  - name: {en: Member", "  - name: {en: [Member"), ", line 2:"),
    ],
)
def test_a_bad_file_stops_the_start_naming_file_line_and_field(tmp_path, change, expected):
    old, new = change
    assert old in PROGRAMME
    assert refusal(tmp_path, PROGRAMME.replace(old, new, 1)).startswith(expected)


def test_duplicate_rewards_missing_and_empty_files_are_refused(tmp_path):
    twice = PROGRAMME + "  - id: TEA\n    cost: 20\n    benefit: {en: Tea, ar: شاي}\n"
    assert refusal(tmp_path, twice).startswith(", line 14, rewards[1].id: another reward has the same id")
    assert refusal(tmp_path, "").startswith(", line 1, the document: Input should be a valid dictionary")
    assert refusal(tmp_path, "tiers: []\n").startswith(", line 1, tiers: List should have at least 1")
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(SettingsError, match=r"FILE is invalid: cannot read .*nowhere\.yaml"):
        load_settings(_env_file=None, loyalty_programme_file=str(missing))


def test_a_file_multiplier_too_large_for_the_biggest_order_is_refused(tmp_path, programme_path):
    programme_path.write_text(PROGRAMME.replace("multiplier: 2", "multiplier: 100"), encoding="utf-8")
    with pytest.raises(SettingsError, match="LOYALTY_MAX_ORDER_AMOUNT"):
        load_settings(
            _env_file=None,
            loyalty_programme_file=str(programme_path),
            loyalty_points_per_unit=10,
            loyalty_max_order_amount=10_000_000,  # x 10 x 1.5 (the default Gold tier) would fit
        )
