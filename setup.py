"""Only for ``scrapyd-deploy`` (scrapyd-client), which builds the project's egg with
``python setup.py bdist_egg`` and would otherwise write a setup.py of its own here.
Everything is declared in pyproject.toml, the ``scrapy`` settings entry point included."""

from setuptools import setup

setup()
