# The bot in a container: python:3.11-slim, dependencies from requirements.lock, a non-root user.
# docker build -t engagement-bot . && docker run -e BOT_TOKEN=… -v bot-data:/data engagement-bot
# SQLite by default (the file lives in the /data volume); set DATABASE_URL for PostgreSQL (compose.yaml).

FROM python:3.11-slim AS build
WORKDIR /src
# Dependencies first, from the lock file only, so editing the code reuses this layer.
COPY requirements.lock ./
RUN python -m venv /opt/bot \
    && /opt/bot/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY templates ./templates
COPY data ./data
# --no-deps: every dependency is already installed, at the locked version.
RUN /opt/bot/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 bot && mkdir /data && chown bot:bot /data
COPY --from=build /opt/bot /opt/bot
ENV PATH=/opt/bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/engagement.db
USER bot
WORKDIR /data
VOLUME /data
# Shop webhooks, Telegram webhooks and /healthz, when PORT is set.
EXPOSE 8080
CMD ["python", "-m", "bot", "run"]
