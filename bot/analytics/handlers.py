"""Analytics for the shop team: /stats [period|chart|top], /cohort and /export."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.analytics import views
from bot.analytics.periods import BadPeriod, parse_period, today_in
from bot.analytics.render import render_stats
from bot.context import BotContext
from bot.merchants import merchant_only
from bot.replies import reply, user_locale
from bot.updates import chat_of
from storage.referrals import top_referrers

CUSTOMER_COMMANDS: tuple[str, ...] = ()
MERCHANT_COMMANDS = ("stats", "cohort", "export")

TOP_REFERRERS = 10
# Telegram takes documents of up to 50 MB from bots; bigger CSVs go gzip-compressed (about a tenth).
GZIP_ABOVE_BYTES = 45 * 1024 * 1024
MESSAGE_LIMIT = 4096  # Telegram's limit for a text message
LABELS = (
    "active",
    "churn",
    "nps",
    "trend_title",
    "cohort_title",
    "months_since",
    "first_order_month",
    "cohort",
    "size",
)


def chart_labels(context: BotContext, locale: str) -> dict[str, str]:
    return {name: context.templates.label(locale, "analytics/labels.html", name) for name in LABELS}


@merchant_only
async def show_stats(update: Update, context: BotContext) -> None:
    """Retention, purchase and satisfaction figures for a period, against the period before."""
    args = context.args or []
    if args[:1] == ["chart"] and len(args) == 1:
        await show_chart(update, context)
        return
    if args[:1] == ["top"] and len(args) <= 2:
        await show_top_referrers(update, context, args[1] if len(args) == 2 else None)
        return
    text = " ".join(args) or None
    settings = context.settings
    locale = await user_locale(context, update.effective_user)
    try:
        async with context.uow.reading() as session:
            report = await views.stats_report(
                session, settings=settings, now=context.clock.now(), period_text=text
            )
    except BadPeriod:
        await reply(update, context, "analytics/usage.html", locale=locale, text=text or "")
        return
    html = render_stats(
        context.templates, locale, report, exponent=settings.currency_exponent, churn_days=settings.churn_days
    )
    await context.bot.send_message(chat_of(update).id, html, parse_mode="HTML")


async def show_top_referrers(update: Update, context: BotContext, period_text: str | None) -> None:
    """The merchant's top referrers in a period: invited, converted, points earned."""
    settings = context.settings
    try:
        period = parse_period(period_text, today=today_in(settings.timezone, context.clock.now()))
    except BadPeriod:
        await reply(update, context, "analytics/usage.html", text=period_text or "")
        return
    start, end = period.bounds(settings.timezone)
    async with context.uow.reading() as session:
        rows = await top_referrers(session, start=start, end=end, limit=TOP_REFERRERS)
    await reply(
        update,
        context,
        "analytics/top_referrers.html",
        rows=rows,
        start=period.first_date,
        end=period.last_date,
    )


# Charts are drawn in a worker thread, and matplotlib is imported there on the first chart: starting the
# bot does not pay for it.
def _trend_png(*args: Any, **kwargs: Any) -> bytes:
    from bot.analytics import charts  # noqa: PLC0415  (matplotlib, only when a chart is drawn)

    return charts.trend_png(*args, **kwargs)


def _cohort_png(*args: Any, **kwargs: Any) -> bytes:
    from bot.analytics import charts  # noqa: PLC0415  (matplotlib, only when a chart is drawn)

    return charts.cohort_png(*args, **kwargs)


async def show_chart(update: Update, context: BotContext) -> None:
    """Monthly trend of active customers, churn and NPS as a PNG."""
    locale = await user_locale(context, update.effective_user)
    async with context.uow.reading() as session:
        data = await views.trend(session, settings=context.settings, now=context.clock.now())
    png = await asyncio.to_thread(
        _trend_png,
        data.months,
        data.active,
        data.churn,
        data.nps,
        labels=chart_labels(context, locale),
        locale=locale,
    )
    caption = context.templates.render(locale, "analytics/chart.html", months=len(data.months))
    await context.bot.send_photo(chat_of(update).id, InputFile(png, filename="trend.png"), caption=caption)


@merchant_only
async def show_cohorts(update: Update, context: BotContext) -> None:
    """Monthly first-order cohorts by months since: a text table, then a heatmap."""
    locale = await user_locale(context, update.effective_user)
    settings = context.settings
    async with context.uow.reading() as session:
        data = await views.cohorts(session, settings=settings, now=context.clock.now())
    labels = chart_labels(context, locale)
    shown = len(data.labels)
    while True:  # the oldest cohorts leave the text table (not the heatmap) until it fits one message
        table = data.table(labels["cohort"], labels["size"], last=shown)
        text = context.templates.render(
            locale, "analytics/cohort.html", table=table, zone=settings.shop_timezone
        )
        if len(text) <= MESSAGE_LIMIT or shown <= 1:
            break
        shown -= 1
    await context.bot.send_message(chat_of(update).id, text, parse_mode="HTML")
    if not data.labels:
        return
    png = await asyncio.to_thread(_cohort_png, data.labels, data.grid, labels=labels, locale=locale)
    caption = context.templates.render(locale, "analytics/heatmap.html")
    await context.bot.send_photo(chat_of(update).id, InputFile(png, filename="cohorts.png"), caption=caption)


@merchant_only
async def send_export(update: Update, context: BotContext) -> None:
    """Customers, orders and survey responses as three CSV documents."""
    locale = await user_locale(context, update.effective_user)
    if chat_of(update).type != "private":  # every member of a group would get the customers' data
        await reply(update, context, "analytics/export_private.html", locale=locale)
        return
    await reply(update, context, "analytics/busy.html", locale=locale)
    exponent = context.settings.currency_exponent
    for name in views.EXPORTS:
        data = await views.export_csv(context.db, name=name, exponent=exponent)
        filename = f"{name}.csv"
        if len(data) > GZIP_ABOVE_BYTES:
            data, filename = await asyncio.to_thread(gzip.compress, data), f"{filename}.gz"
        caption = context.templates.render(locale, "analytics/export.html", name=name)
        await context.bot.send_document(
            chat_of(update).id, InputFile(data, filename=filename), caption=caption
        )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("stats", show_stats),
        CommandHandler("cohort", show_cohorts),
        CommandHandler("export", send_export),
    ]
