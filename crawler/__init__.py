"""Crawling: targets in, images (in memory) out.

Consumes a case's :class:`store.Target` rows; produces :class:`crawler.items.ImageItem`
objects for the pipelines (``pipelines/``). Pure HTML extraction lives in
:mod:`crawler.extract`; the address guard that keeps the crawler off internal networks
in :mod:`crawler.guard`.
"""
