# dynhedge: the service (python -m app serve). One process holds the book: never run it with
# more than one worker; scale by sharding underlyings across containers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 dynhedge \
 && useradd --system --uid 10001 --gid dynhedge --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin dynhedge

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when the lock changes. The lock pins
# every package, the build backend included, with the sha256 of its wheels; pip refuses any
# download that does not match, and any dependency the lock lacks. Refresh it: scripts/lock.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install --require-hashes -r requirements/runtime.txt && rm -rf requirements

# The service itself, installed into site-packages with the locked packages as they are
# (--no-deps, built by the locked setuptools; the source copy is not kept), and the paper
# execution bot example.
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-deps --no-build-isolation . && rm -rf app build ./*.egg-info
COPY scripts/paper_bot.py ./scripts/paper_bot.py

ENV HEDGE_HOST=0.0.0.0 \
    HEDGE_PORT=8000 \
    HEDGE_DB_PATH=/app/var/dynhedge.db \
    NUMBA_CACHE_DIR=/app/.numba-cache

# /app/var holds the SQLite journal: mount a volume there (a new named volume takes this
# directory's owner, so the non-root user can write it).
RUN mkdir -p /app/var /app/.numba-cache && chown dynhedge:dynhedge /app/var /app/.numba-cache
USER dynhedge

# Compile the pricing kernels into the image, so a container serves within seconds instead of
# compiling on its first start.
RUN python -c "from app.pricing import warm_up; warm_up()"

VOLUME ["/app/var"]
EXPOSE 8000

# Liveness over HTTP with the standard library (the slim image has no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HEDGE_PORT', '8000'), timeout=2)"]

CMD ["python", "-m", "app", "serve"]
