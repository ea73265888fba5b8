"""The run: what the incremental rules want, what this run did, the commit point, the state."""
