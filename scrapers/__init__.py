"""hzwatch crawling: sources, generic spiders, extraction."""
