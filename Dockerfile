# scorebot: one image for the server (`scorebot serve`) and the CLI.
FROM python:3.11-slim

# A CJK font so ranking charts show Chinese labels, not boxes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk fontconfig \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY scoring_core ./scoring_core
COPY schedules ./schedules
COPY storage ./storage
RUN pip install --no-cache-dir .

# Run as a non-root user; the SQLite database lives in a volume.
RUN useradd --create-home --uid 10001 scorebot && mkdir /data && chown scorebot /data
USER scorebot
VOLUME ["/data"]
ENV SCOREBOT_DATABASE_URL=sqlite+aiosqlite:////data/scorebot.db \
    SCOREBOT_HOST=0.0.0.0 \
    SCOREBOT_PORT=8080
EXPOSE 8080
ENTRYPOINT ["scorebot"]
CMD ["serve"]
