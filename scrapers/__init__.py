"""Fetching and extraction: where a page is fetched and where it becomes an article.

Enters: the sources (`sources.yaml`, read by `sources.py`) and the extraction profiles
(`profiles.yaml`). `spiders/` fetches list pages and article pages (one generic spider per crawl
strategy, none per site; `middlewares.py` adds politeness, conditional requests, size limits and
replica remapping); `extract` turns one HTML page into fields; `pipelines.py` hands each finished
`db.records.Article` to the writer and matcher the crawl was given.

Leaves: `Article` records and crawl bookkeeping, through the objects handed in from outside
(`monitor/service/crawl.py`); nothing here opens the database or imports `monitor/`.
"""
