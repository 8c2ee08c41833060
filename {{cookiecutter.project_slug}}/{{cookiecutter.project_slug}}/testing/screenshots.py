"""The `screenshot` fixture: PNGs of the pages for people to look at (the template's own suite keeps them).

`screenshot(page, name)` saves `<name>.png` as the page is, and `<name>-phone.png` at a phone's width, into
`pytest --screenshots DIR` (or $SCREENSHOTS_DIR), else `screenshots/` in pytest's temporary folder of the run.
"""

import os
from pathlib import Path

import pytest

PHONE = {"width": 390, "height": 844}


def pytest_addoption(parser):
    parser.addoption(
        "--screenshots",
        metavar="DIR",
        default=os.environ.get("SCREENSHOTS_DIR"),
        help="save the browser tests' screenshots here (default: pytest's temporary folder)",
    )


@pytest.fixture(scope="session")
def screenshot_dir(request, tmp_path_factory):
    chosen = request.config.getoption("--screenshots")
    base = tmp_path_factory.getbasetemp()
    # Under pytest-xdist each worker has a folder of its own in the run's: share the run's.
    folder = Path(chosen) if chosen else (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(screenshot_dir):
    def save(page, name):
        page.screenshot(path=screenshot_dir / f"{name}.png", full_page=True)
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        page.screenshot(path=screenshot_dir / f"{name}-phone.png", full_page=True)
        page.set_viewport_size(size)

    return save
