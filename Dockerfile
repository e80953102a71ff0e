# The Vellum image: `vellum serve` by default; the same image runs `vellum projector` and
# `vellum worker` (see docker-compose.yml).

# The browser UI, built once; only its static files go into the final image.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# README.md is the package's long description (pyproject.toml), so it is needed to build.
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY workers ./workers
RUN pip install .
COPY --from=web /web/dist /srv/web

RUN useradd --create-home --uid 10001 vellum
USER vellum
WORKDIR /home/vellum

# Listen on every interface inside the container; keep any embedded data (used only when
# no database/redis URL is given) in the user's home.
ENV VELLUM_HOST=0.0.0.0 \
    VELLUM_DATA_DIR=/home/vellum/.vellum \
    VELLUM_WEB_ROOT=/srv/web
EXPOSE 8080
CMD ["vellum", "serve"]
