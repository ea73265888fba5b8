"""The output: atomic feed storage and recovery, item pipelines, log lines for dropped items."""
