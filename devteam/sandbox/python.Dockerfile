# The sandbox image where a registry is reachable. Offline builds debootstrap Debian instead.
FROM python:3.12-slim
RUN pip install --no-cache-dir pytest \
    && mkdir -p /workspace && chown 1000:1000 /workspace
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8
WORKDIR /workspace
USER 1000:1000
CMD ["sleep", "infinity"]
