# The Vellum image: `vellum serve` by default; the same image runs `vellum projector` and
# `vellum worker` (see docker-compose.yml).
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

RUN useradd --create-home --uid 10001 vellum
USER vellum
WORKDIR /home/vellum

# Listen on every interface inside the container; keep any embedded data (used only when
# no database/redis URL is given) in the user's home.
ENV VELLUM_HOST=0.0.0.0 \
    VELLUM_DATA_DIR=/home/vellum/.vellum
EXPOSE 8080
CMD ["vellum", "serve"]
