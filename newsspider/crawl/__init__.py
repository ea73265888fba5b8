"""Scrapy components and the run state of a crawl (see README, Architecture)."""
