"""Browser tests of the course in JupyterLab (see README.md)."""
import pytest

INSTALL = ("install the browser with `apt-get update && apt-get install -y chromium "
           "chromium-driver` (Debian) and Playwright for Python with `pip install playwright`; "
           "no `playwright install` is needed (set ASYNCLAB_E2E_CHROMIUM to use another Chromium)")


def require_playwright() -> None:
    """Skip the calling test module, saying how to install, when Playwright is missing."""
    pytest.importorskip("playwright.sync_api",
                        reason=f"Playwright for Python is not installed: {INSTALL}")
