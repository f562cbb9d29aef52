"""Signing a browser in to the dashboard in the end-to-end tests: the login form, POSTed (a token
never goes into a URL since issue 17; `/?token=` is refused)."""

from __future__ import annotations

from playwright.async_api import Page as AsyncPage
from playwright.sync_api import Page


def sign_in(page: Page, base: str, token: str) -> None:
    """Paste the token into the login form; the session cookie is set, the dashboard shown."""
    page.goto(f"{base}/")
    page.fill("#token", token)
    page.click("form[action='/'] button[type=submit]")
    page.wait_for_url(f"{base}/")


async def sign_in_async(page: AsyncPage, base: str, token: str) -> None:
    await page.goto(f"{base}/")
    await page.fill("#token", token)
    await page.click("form[action='/'] button[type=submit]")
    await page.wait_for_url(f"{base}/")
