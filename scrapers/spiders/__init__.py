"""Generic spiders, one per crawl strategy; the source config says which one a source uses."""

from scrapers.spiders.channel_list import ChannelListSpider
from scrapers.spiders.epaper_day import EpaperDaySpider
from scrapers.spiders.jcms_column import JcmsColumnSpider

SPIDERS = {cls.strategy: cls for cls in (ChannelListSpider, JcmsColumnSpider, EpaperDaySpider)}


def spider_for(source):
    """The spider class of a source's strategy."""
    return SPIDERS[source.strategy]
