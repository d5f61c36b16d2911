"""hzwatch's later stages: matching articles to the plans, alerting, the service and the CLI.

The flow, one folder a stage: `scrapers/spiders` fetches pages, `scrapers/extract` turns a page
into an `Article`, `monitor/matching` links it to plan items and reads progress figures, `db/`
stores everything, `monitor/alerting` sends what is new, `monitor/service` runs it all on a
schedule and serves Datasette, and `monitor/cli` is the command line over all of them.
"""
