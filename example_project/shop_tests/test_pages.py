"""Each page, as written and with ``?fixed=1``; query snapshots live in ``__dbtune__/``.

Run with ``pytest example_project/shop_tests --ds=shop.settings --dbtune``. The pages as
written have the planted N+1s: their snapshots record them, so the build fails only when a
page gets worse (more queries, a new query shape, a new or grown N+1).
"""

from __future__ import annotations

from typing import Any

import pytest

from shop.pages import PAGES, fixed_url

NAMES = [name for name, _ in PAGES]


@pytest.mark.parametrize(("name", "path"), PAGES, ids=NAMES)
def test_page_as_written(client: Any, shop: dict[str, int], name: str, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(("name", "path"), PAGES, ids=NAMES)
def test_page_fixed(client: Any, shop: dict[str, int], name: str, path: str) -> None:
    response = client.get(fixed_url(path))
    assert response.status_code == 200
    assert response.content == client.get(path).content
