"""Programme rules (tiers, rewards, referral rewards) are parsed once, when the settings are validated, into
typed objects: updates and orders use those, never the settings' text."""

from __future__ import annotations

import pytest

from bot.loyalty import rules
from bot.referrals import rules as referral_rules
from bot.referrals.rules import RewardSpec
from bot.settings import Settings, SettingsError, load_settings
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import ingest, make_customer

HIND = TgUser(id=6101, first_name="هند", language_code="ar")
TIERS = "Base|الأساسي:0:1,Gold|الذهبي:100:2"


def test_programme_holds_both_languages_and_follows_the_settings_text():
    settings = Settings(_env_file=None, loyalty_tiers=TIERS, loyalty_rewards="TEA:10:Tea|شاي")
    programme = settings.loyalty_programme
    assert programme is settings.loyalty_programme, "parsed once, not per access"
    assert [tier.name for tier in programme.tiers()] == ["Base", "Gold"]
    assert [tier.name for tier in programme.tiers("ar")] == ["الأساسي", "الذهبي"]
    assert programme.tier_for(10_000, 2, locale="ar").name == "الذهبي"
    assert programme.tier_name("Gold", "ar") == "الذهبي" and programme.tier_name(None, "ar") is None
    assert programme.reward("TEA", "ar").benefit == "شاي" and programme.reward("NOPE") is None
    other = settings.model_copy(update={"loyalty_tiers": "Only:0:3"})
    assert [tier.name for tier in other.loyalty_programme.tiers()] == ["Only"], "no stale rules"
    assert settings.referral_rewards.referrer == RewardSpec("points", points=200)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("loyalty_tiers", "Gold:100:2", "setting LOYALTY_TIERS is invalid: the first tier must start at 0"),
        ("loyalty_rewards", "X:0:nothing", "setting LOYALTY_REWARDS is invalid: reward 'X:0:nothing'"),
        ("referral_referee_reward", "cash:5", "setting REFERRAL_REFEREE_REWARD is invalid: 'cash:5'"),
    ],
)
def test_bad_rules_still_stop_the_start_naming_their_setting(setting, value, message):
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, **{setting: value})
    assert str(refused.value).startswith(message)


async def test_updates_and_orders_never_parse_the_rules_again(harness, monkeypatch):
    def parsed_again(*args, **kwargs):
        raise AssertionError("programme rules parsed after start")

    for module, name in [
        (rules, "parse_tiers"),
        (rules, "parse_rewards"),
        (referral_rules, "parse_reward"),
    ]:
        monkeypatch.setattr(module, name, parsed_again)
    settings = harness.app.bot_data["settings"]
    customer = await make_customer(harness.db, settings, HIND.id, locale="ar")
    await ingest(harness.db, settings, "P-1", 300_000, customer_id=customer.id)
    await harness.send(updates.command(HIND, "/balance"))
    assert "الذهبي" in harness.last_text_to(HIND)
    await harness.send(updates.command(HIND, "/rewards"))
    await harness.send(updates.command(HIND, "/referral"))
    assert harness.texts_to(HIND)
