# Image of one regionsim service: accounts, a region server or the gateway.
#
# The project is installed from a wheelhouse in the build context, never from a
# package index, so the build works offline. docker/build-image.sh fills
# docker/wheelhouse/deps/ (dependencies) and docker/wheelhouse/project/ (the
# regionsim wheel), then builds this file on one of two bases:
#
#   docker build -t regionsim:dev .                       # official python base
#   docker build -t regionsim:dev \
#       --build-arg BASE_IMAGE=regionsim-base:bookworm .  # from docker/build-base.sh
#
# Run one service by giving its `regionsim serve` arguments:
#
#   docker run --network host regionsim:dev region --region-id euc1 \
#       --accounts-url http://127.0.0.1:9000 --host 127.0.0.1 --port 8101 --data-dir /data

ARG BASE_IMAGE=python:3.11-slim

# The dependencies go into a venv in a throwaway stage, so their wheels never
# become a layer of the final image, and this stage is reused until they change.
# Both bases have python3 with the venv module.
FROM ${BASE_IMAGE} AS deps
RUN python3 -m venv /opt/regionsim
COPY docker/wheelhouse/deps/ /tmp/wheelhouse/deps/
RUN /opt/regionsim/bin/pip install --no-cache-dir --no-index --no-deps \
        /tmp/wheelhouse/deps/*.whl

FROM ${BASE_IMAGE}
ARG REGIONSIM_EXTRAS=""
LABEL org.opencontainers.image.title="regionsim" \
      org.opencontainers.image.description="A service of the regionsim multi-region Clockify API simulator"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/regionsim \
    PATH=/opt/regionsim/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PORT=8000

# A fixed uid, so a bind-mounted data dir can be prepared for it on the host.
RUN groupadd --system --gid 10001 regionsim \
    && useradd --system --uid 10001 --gid regionsim --home-dir /home/regionsim \
        --create-home --shell /usr/sbin/nologin regionsim \
    && mkdir -p /data \
    && chown regionsim:regionsim /data

COPY --from=deps /opt/regionsim /opt/regionsim
COPY docker/healthcheck.py /usr/local/lib/regionsim-healthcheck.py

# The project last: a code change rebuilds only this small layer. Its
# dependencies are already in the venv, and pip fails if one is missing.
COPY docker/wheelhouse/project/ /tmp/wheelhouse/project/
RUN pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse/project \
        "regionsim${REGIONSIM_EXTRAS:+[${REGIONSIM_EXTRAS}]}" \
    && rm -rf /tmp/wheelhouse \
    && pip check \
    && python3 -c "import simulator"

USER regionsim
WORKDIR /data
EXPOSE 8000

# Reads --host/--port from the service's command line, PORT when absent.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "/usr/local/lib/regionsim-healthcheck.py"]

ENTRYPOINT ["regionsim", "serve"]
CMD ["accounts", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
