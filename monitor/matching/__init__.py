"""Matching: links one article to the plan's items and targets.

Enters: plan YAML files (`monitor/plans/*.yaml`, with `places.yaml`) and articles as
`db.records.Article` (url, site, title, published, body, source_name). Leaves: a validated
`catalog.Catalog` (a `CatalogError` listing every problem otherwise) and, per article, a
`db.records.MatchResult` (relevant, score, items, progress `Figure`s, `Evidence`), whose
`to_json()` is what `hzwatch match` prints. Pure functions of their inputs: nothing here reads
or writes the database.

Modules: `catalog` (plans, items, targets; `checks` and `settings` validate and type the YAML),
`normalize` (the text normaliser), `terms` (one Aho-Corasick pass for every term), `matcher`
(the verdict, with `locality`, `dates`, `positions`), `figures` and `numbers` (progress
figures), and `evaluate` (scores the matcher on labelled articles).
"""
