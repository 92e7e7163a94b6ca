# The loginsights image used by docker-compose (solr-init, and later the API and worker).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY solr/configsets ./solr/configsets
RUN pip install --no-cache-dir .
ENV LOGINSIGHTS_SOLR_ASSETS_DIR=/app/solr
ENTRYPOINT []
CMD ["loginsights", "--help"]
