"""Development tools: the local mirror server, the demo, the one-page extractor."""
