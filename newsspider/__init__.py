"""newsspider: a Scrapy crawler that turns georgiatoday.ge into clean JSON Lines."""
