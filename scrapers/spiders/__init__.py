"""Where a page is fetched: generic spiders, one per crawl strategy; the source config says which
one a source uses.

Enters: a `Source` (scrapers/sources.yaml), the crawl window, and from outside a `CrawlLedger`
(what is known, failures, the run row). Leaves: requests for list and article pages, and one
`db.records.Article` per article (via `scrapers/extract`) for the item pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapers.spiders.base import SourceSpider
from scrapers.spiders.channel_list import ChannelListSpider
from scrapers.spiders.epaper_day import EpaperDaySpider
from scrapers.spiders.jcms_column import JcmsColumnSpider

if TYPE_CHECKING:
    from scrapers.sources import Source

SPIDERS: dict[str, type[SourceSpider]] = {
    cls.strategy: cls for cls in (ChannelListSpider, JcmsColumnSpider, EpaperDaySpider)
}


def spider_for(source: Source) -> type[SourceSpider]:
    """The spider class of a source's strategy."""
    return SPIDERS[source.strategy]
