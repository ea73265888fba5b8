"""Spiders of the project (routing only; extraction lives in ``newsspider.extraction``)."""
