"""What browser tests do on meeting pages: join by link, watch for errors, read timers."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect


def watch(page: Page, problems: list[str], who: str = "", dialogs: bool = True) -> Page:
    """Record console errors, CSP violations, uncaught errors and (with ``dialogs``) any
    dialog, which is dismissed, into ``problems``."""

    def dialog(d: Dialog) -> None:
        problems.append(f"{who} dialog: {d.message}")
        d.dismiss()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"{who} console: {message.text}")

    if dialogs:
        page.on("dialog", dialog)
    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"{who} pageerror: {error}"))
    return page


def join(
    browser: Browser,
    link: str,
    name: str,
    problems: list[str] | None = None,
    dialogs: bool = True,
    bypass_csp: bool = False,
) -> Page:
    """Open a meeting link in a fresh browser context, type a name and join (``bypass_csp``:
    so that a test can inject axe-core)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp)
    page = context.new_page()
    if problems is not None:
        watch(page, problems, name, dialogs)
    page.goto(link)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#room")).to_be_visible()
    return page


def open_tab(page: Page, name: str) -> None:
    """Open the room's side panel at one of its tabs (Agenda, People, Chat, Notes, Facilitator)."""
    if not page.locator("#side-panel").is_visible():
        page.locator("#open-chat").click()
    tab = page.get_by_role("tab", name=name)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def seconds(text: str) -> int:
    """A countdown's text in seconds: '04:59' -> 299, '1:02:03' -> 3723, '+00:05 over' -> -5."""
    total = 0
    for part in re.findall(r"\d+", text):
        total = total * 60 + int(part)
    return -total if text.startswith("+") else total
