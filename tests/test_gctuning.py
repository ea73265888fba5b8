"""The GC tuning extension sets the crawl's collector thresholds from the setting."""

from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from newsspider.crawl.gctuning import GarbageCollectorTuning


@pytest.fixture(autouse=True)
def _restore_gc() -> object:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_sets_the_thresholds() -> None:
    GarbageCollectorTuning.from_crawler(get_crawler(settings_dict={"NEWSSPIDER_GC_THRESHOLDS": [40000, 20, 500]}))
    assert gc.get_threshold() == (40000, 20, 500)


def test_empty_setting_keeps_python_defaults() -> None:
    before = gc.get_threshold()
    with pytest.raises(NotConfigured):
        GarbageCollectorTuning.from_crawler(get_crawler(settings_dict={"NEWSSPIDER_GC_THRESHOLDS": []}))
    assert gc.get_threshold() == before


def test_bad_values_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="NEWSSPIDER_GC_THRESHOLDS"):
        GarbageCollectorTuning.from_crawler(get_crawler(settings_dict={"NEWSSPIDER_GC_THRESHOLDS": [1, 2, 3, 4]}))
