"""The service: `crawl` runs one crawl of some sources in a Scrapy process (wiring the extractor,
the matcher and the database writer together), `scheduler` runs crawls and alert dispatch on a
schedule, `serve` starts Datasette on the database.

Enters: sources, plans, subscriptions and the database path. Leaves: crawl runs, dispatched
alerts and the Datasette process.
"""
