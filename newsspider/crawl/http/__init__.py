"""Downloader-side components: retries, politeness, robots.txt, the mirror, conditional requests."""
