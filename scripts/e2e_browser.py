"""Check in a real browser what the Airflow 3 UI makes of this provider.

Unit tests see the provider metadata, not what Airflow's React UI renders from it. This script
drives headless Chromium (Debian's /usr/bin/chromium through Playwright, no browser download)
against a running api-server: it logs in, opens the "Add Connection" form for the ``bailian``
type (custom fields, relabelled and hidden standard fields, placeholders), the task instance
page of a finished run (the "Bailian video" extra link and its URL) and the "Bailian videos"
gallery (the mapped run's videos, prompts, costs, a playing ``<video>``). It prints one
``OK: ...`` / ``FAIL: ...`` line per check, saves screenshots for the docs, and exits 1 when a
check failed (with a screenshot and an excerpt of the page text to debug it).

Usage (from scripts/e2e.sh)::

    python scripts/e2e_browser.py --base-url http://127.0.0.1:8080 --username admin \\
        --password PASS --dag-id bailian_wait_deferrable --run-id RUN_ID --task-id generate \\
        --expect-video-url URL --screenshots docs/img
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import (
    BrowserContext,
    BrowserType,
    ConsoleMessage,
    Locator,
    Page,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

STEP_TIMEOUT_MS = 30_000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
TALL_VIEWPORT = {"width": 1400, "height": 1600}

CONN_TYPE_LABEL = "Alibaba Cloud Bailian"
CUSTOM_FIELD_LABELS = [
    "API style",
    "DashScope region",
    "Workspace ID",
    "Read timeout (s)",
    "Max retries",
    "Query rate limit (per second)",
]
# Standard field -> (label the provider gives it, text its placeholder must contain).
RELABELLED_FIELDS = {
    "host": ("Base URL", "dashscope-intl.aliyuncs.com"),
    "password": ("API key", "sk-"),
}
HIDDEN_FIELDS = {"schema": "Schema", "port": "Port", "login": "Login"}
LINK_NAME = "Bailian video"


@dataclass
class Report:
    """Prints the check lines, counts failures and saves a debug capture on failure."""

    screenshots: Path
    secret: str
    checks: int = 0
    failed: list[str] = field(default_factory=list)

    def redact(self, text: str) -> str:
        return text.replace(self.secret, "***") if self.secret else text

    def check(self, passed: bool, what: str, detail: str = "") -> bool:
        self.checks += 1
        if passed:
            print(f"OK: {what}", flush=True)
        else:
            self.failed.append(what)
            suffix = f" ({self.redact(detail)})" if detail else ""
            print(f"FAIL: {what}{suffix}", flush=True)
        return passed

    def dump_page(self, page: Page, step: str) -> None:
        """Save a screenshot of the page and print the start of its visible text."""
        path = self.screenshots / f"failure-{step}.png"
        try:
            page.screenshot(path=str(path), full_page=True, timeout=STEP_TIMEOUT_MS)
            text = " ".join(page.inner_text("body", timeout=5_000).split())
        except PlaywrightError as exc:
            print(f"  (could not capture the page: {self.redact(str(exc).splitlines()[0])})")
            return
        print(f"  page: {page.url}")
        print(f"  screenshot: {path}")
        print(f"  visible text: {self.redact(text[:1200])}", flush=True)


def run_step(report: Report, page: Page, step: str, func: Callable[[], None]) -> bool:
    """Run one step; a timeout or browser error is a failed check. Debug capture on failure."""
    failures_before = len(report.failed)
    try:
        func()
    except PlaywrightError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        report.check(False, f"{step}: step did not complete", first_line)
    if len(report.failed) > failures_before:
        report.dump_page(page, step)
        return False
    return True


def login(page: Page, report: Report, base_url: str, username: str, password: str) -> None:
    """Open the UI root, follow the redirect to the SimpleAuthManager login page, sign in."""
    page.goto(f"{base_url}/")
    page.locator("input[name='username']").wait_for(state="visible")
    report.check("/auth/login" in page.url, "root redirects to the login page", page.url)
    page.locator("input[name='username']").fill(username)
    page.locator("input[name='password']").fill(password)
    page.get_by_role("button", name="Sign in").click()
    user_menu = page.get_by_role("button", name="User")
    rejected = page.get_by_text(re.compile(r"Invalid credentials|Unauthorized"))
    user_menu.or_(rejected).first.wait_for(state="visible")  # fail fast on a bad password
    report.check(
        "/auth/login" not in page.url and user_menu.is_visible(),
        f"logged in as {username!r}",
        "the login page rejected the credentials",
    )


def open_add_connection_form(page: Page, report: Report, base_url: str) -> Locator:
    """Open Admin > Connections > Add Connection and pick the Bailian connection type."""
    page.goto(f"{base_url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(state="visible")
    dialog.locator("input[name='connection_id']").fill("bailian_default")
    dialog.get_by_role("combobox", name="Connection Type").fill("Bailian")
    page.get_by_role("option", name=CONN_TYPE_LABEL, exact=True).click()
    dialog.get_by_role("button", name="Standard Fields").wait_for(state="visible")
    report.check(
        dialog.get_by_text(CONN_TYPE_LABEL, exact=True).count() > 0,
        f"connection type 'bailian' is offered as {CONN_TYPE_LABEL!r}",
    )
    return dialog


def label_with_text(scope: Locator, text: str) -> Locator:
    """A <label> by its text. In 3.3.2 a text extra field's label ``for`` does not point at its
    input (id ``element_<name>``), so ``get_by_label`` cannot find those fields."""
    return scope.locator("label").filter(has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))


def check_standard_fields(dialog: Locator, report: Report) -> None:
    """Relabelled host/password with placeholders; schema, port and login hidden."""
    for name, (text, placeholder_part) in RELABELLED_FIELDS.items():
        field_input = dialog.get_by_label(text, exact=True)
        field_input.wait_for(state="visible")
        actual_name = field_input.get_attribute("name")
        report.check(
            actual_name == name,
            f"{name} field is labelled {text!r}",
            f"the field labelled {text!r} is {actual_name!r}",
        )
        placeholder = field_input.get_attribute("placeholder") or ""
        report.check(
            placeholder_part in placeholder,
            f"{text!r} placeholder contains {placeholder_part!r}",
            f"placeholder is {placeholder!r}",
        )
    for name, text in HIDDEN_FIELDS.items():
        shown = dialog.locator(f"input[name='{name}']").count()
        shown += label_with_text(dialog, text).count()
        report.check(shown == 0, f"{name} field is hidden", f"{shown} element(s) found")


def check_custom_fields(dialog: Locator, report: Report) -> None:
    """Expand "Extra Fields" and look for each provider field by its label."""
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    label_with_text(dialog, CUSTOM_FIELD_LABELS[0]).wait_for(state="visible")
    for text in CUSTOM_FIELD_LABELS:
        found = label_with_text(dialog, text)
        report.check(
            found.count() == 1 and found.is_visible(),
            f"custom field {text!r} is shown",
            f"{found.count()} label(s) with that text",
        )


def check_connection_form(page: Page, report: Report, base_url: str, shots: Path) -> None:
    """The form is not saved. Only one section is open at a time: one screenshot each."""
    page.set_viewport_size(TALL_VIEWPORT)  # the open "Extra Fields" do not fit in 1000 px
    try:
        dialog = open_add_connection_form(page, report, base_url)
        check_standard_fields(dialog, report)
        dialog.screenshot(path=str(shots / "connection-form-standard.png"))
        check_custom_fields(dialog, report)
        dialog.screenshot(path=str(shots / "connection-form.png"))
    finally:
        page.set_viewport_size(VIEWPORT)


def task_instance_url(base_url: str, dag_id: str, run_id: str, task_id: str) -> str:
    parts = (quote(part, safe="") for part in (dag_id, run_id, task_id))
    return "{}/dags/{}/runs/{}/tasks/{}".format(base_url, *parts)


def check_extra_link(page: Page, report: Report, url: str, expected: str, shots: Path) -> None:
    """The link sits in the task instance's "Details" tab; read its href, do not follow it."""
    page.goto(url)
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name=LINK_NAME, exact=True)
    missing = page.get_by_text("No Task Instance found")
    link.or_(missing).first.wait_for(state="visible")
    if not link.is_visible():  # the page says "not found" while its query is still loading
        with contextlib.suppress(PlaywrightError):
            link.wait_for(state="visible", timeout=STEP_TIMEOUT_MS / 2)
    shown = link.is_visible()
    report.check(
        shown, f"task instance page shows the {LINK_NAME!r} extra link", "no such task instance"
    )
    if not shown:
        return
    href = link.get_attribute("href") or ""
    report.check(
        href == expected,
        f"{LINK_NAME!r} link points to the expected video URL",
        f"href is {href!r}, expected {expected!r}",
    )
    link.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "extra-link.png"))


GALLERY_ROUTE = "plugin/bailian_videos"
GALLERY_DAG = "bailian_mapped_prompts"


def check_gallery(
    page: Page, report: Report, base_url: str, run_id: str, prompts: list[str], shots: Path
) -> None:
    """Open "Bailian videos" in the UI (the plugin's page in an iframe), filter on the mapped
    run, check its videos with prompts and costs, and that a <video> loads."""
    page.set_viewport_size(TALL_VIEWPORT)
    # The page runs under a Content-Security-Policy: the browser reports what it blocks.
    blocked: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", on_console)
    try:
        page.goto(f"{base_url}/{GALLERY_ROUTE}")
        frame = page.frame_locator("iframe").first
        frame.locator("#grid article").first.wait_for(state="visible")
        report.check(True, "the UI shows the Bailian videos page (plugin external view)")
        frame.locator("#dag").select_option(GALLERY_DAG)
        frame.locator("#run").select_option(run_id)
        tiles = frame.locator("#grid article")
        expect_count = len(prompts)
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
        while tiles.count() != expect_count and time.monotonic() < deadline:
            time.sleep(0.2)
        report.check(
            tiles.count() == expect_count,
            f"the gallery filtered on the mapped run shows {expect_count} videos",
            f"{tiles.count()} tiles",
        )
        shown = [t.strip() for t in frame.locator("#grid .prompt").all_inner_texts()]
        report.check(
            sorted(shown) == sorted(prompts), "each video shows its prompt", f"prompts {shown}"
        )
        costs = frame.locator("#grid .cost").all_inner_texts()
        report.check(
            len(costs) == expect_count and all("unknown" not in c for c in costs),
            "each video shows its cost",
            f"costs {costs}",
        )
        totals = frame.locator("#totals").inner_text()
        report.check(f"{expect_count} of {expect_count} videos" in totals, "totals shown", totals)
        video = frame.locator("#grid video").first
        video.wait_for(state="attached")
        video.evaluate("v => v.play().catch(() => null)")
        handle = video.element_handle()
        ready = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready = handle.evaluate("v => v.readyState") if handle else 0
            if ready >= 2:
                break
            time.sleep(0.2)
        error = handle.evaluate("v => v.error && v.error.code") if handle else None
        report.check(
            ready >= 2,
            f"a <video> loads in the gallery (readyState {ready})",
            f"readyState {ready}, media error {error}",
        )
        page.screenshot(path=str(shots / "gallery.png"))
        report.check(
            not blocked,
            "the gallery page breaks none of its Content-Security-Policy",
            "; ".join(blocked[:1]),
        )
    finally:
        page.remove_listener("console", on_console)
        page.set_viewport_size(VIEWPORT)


def check_plan_log(page: Page, report: Report, url: str, shots: Path) -> None:
    """The plan task's log shows the batch as a table grouped by model and tier."""
    page.goto(url)
    logs = page.get_by_role("tab", name="Logs").or_(page.get_by_role("link", name="Logs"))
    logs.first.click()
    table = page.get_by_text(re.compile(r"Plan of \d+ videos"))
    table.first.wait_for(state="visible")
    text = page.inner_text("body")
    report.check(
        "wan2.6-t2v" in text and "total" in text and "CNY" in text,
        "the plan's log shows its table (models, tiers, total in CNY)",
        text[-400:],
    )
    table.first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "plan-log.png"))


def approve_in_ui(page: Page, report: Report, url: str, subject: str, shots: Path) -> None:
    """The "Required actions" page shows the plan's request; a click on Approve answers it."""
    page.goto(f"{url}/required_actions")
    page.get_by_text(subject).first.wait_for(state="visible")
    approve = page.get_by_role("button", name="Approve", exact=True)
    reject = page.get_by_role("button", name="Reject", exact=True)
    report.check(
        approve.count() > 0 and reject.count() > 0,
        f"the approval request {subject!r} offers Approve and Reject",
    )
    text = page.inner_text("body")
    report.check("wan2.6-t2v" in text, "the approval request shows the plan's table", text[:400])
    page.screenshot(path=str(shots / "plan-approval.png"))
    approve.first.click()
    answered = page.get_by_text(re.compile(r"response successful|Approval Received|Approve"))
    answered.first.wait_for(state="visible")
    report.check(True, "clicked Approve on the Required actions page")


def approval_main(argv: list[str]) -> int:
    """``e2e_browser.py approval ...``: screenshot a waiting plan's log and approval, approve it."""
    parser = argparse.ArgumentParser(description=approval_main.__doc__)
    for name in ("base-url", "username", "password", "dag-id", "run-id", "task-id", "subject"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--screenshots", type=Path, default=Path("docs/img"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    base_url = args.base_url.rstrip("/")
    report = Report(screenshots=args.screenshots, secret=args.password)
    url = task_instance_url(base_url, args.dag_id, args.run_id, args.task_id)
    with tempfile.TemporaryDirectory(prefix="e2e-chromium-") as profile, sync_playwright() as pw:
        context = launch(pw.chromium, args.chromium, profile)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            if run_step(
                report,
                page,
                "login",
                lambda: login(page, report, base_url, args.username, args.password),
            ):
                run_step(
                    report,
                    page,
                    "plan-log",
                    lambda: check_plan_log(page, report, url, args.screenshots),
                )
                run_step(
                    report,
                    page,
                    "plan-approval",
                    lambda: approve_in_ui(page, report, url, args.subject, args.screenshots),
                )
        finally:
            context.close()
    print(f"{report.checks} checks, {len(report.failed)} failed")
    return 1 if report.failed else 0


def launch(browser_type: BrowserType, chromium: str, profile_dir: str) -> BrowserContext:
    """Debian's Chromium with a fresh profile (Playwright refuses --user-data-dir in args)."""
    return browser_type.launch_persistent_context(
        profile_dir,
        executable_path=chromium,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
        timeout=STEP_TIMEOUT_MS,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="Airflow UI, e.g. http://127.0.0.1:8080")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--dag-id", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--task-id", required=True)
    parser.add_argument("--expect-video-url", required=True, help="href the link must have")
    parser.add_argument("--screenshots", type=Path, default=Path("docs/img"))
    parser.add_argument("--gallery-run-id", help="run of bailian_mapped_prompts to look for")
    parser.add_argument("--gallery-prompts", default="[]", help="its prompts (JSON list)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="browser executable")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base_url = args.base_url.rstrip("/")
    args.screenshots.mkdir(parents=True, exist_ok=True)
    for stale in args.screenshots.glob("failure-*.png"):  # from an earlier failed run
        stale.unlink()
    report = Report(screenshots=args.screenshots, secret=args.password)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="e2e-chromium-") as profile, sync_playwright() as pw:
        try:
            context = launch(pw.chromium, args.chromium, profile)
        except PlaywrightError as exc:
            report.check(False, f"start {args.chromium}", str(exc).splitlines()[0])
            return 1
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.set_default_navigation_timeout(STEP_TIMEOUT_MS)
        try:
            logged_in = run_step(
                report,
                page,
                "login",
                lambda: login(page, report, base_url, args.username, args.password),
            )
            if logged_in:
                run_step(
                    report,
                    page,
                    "connection-form",
                    lambda: check_connection_form(page, report, base_url, args.screenshots),
                )
                ti_url = task_instance_url(base_url, args.dag_id, args.run_id, args.task_id)
                run_step(
                    report,
                    page,
                    "extra-link",
                    lambda: check_extra_link(
                        page, report, ti_url, args.expect_video_url, args.screenshots
                    ),
                )
                if args.gallery_run_id:
                    run_step(
                        report,
                        page,
                        "gallery",
                        lambda: check_gallery(
                            page,
                            report,
                            base_url,
                            args.gallery_run_id,
                            json.loads(args.gallery_prompts),
                            args.screenshots,
                        ),
                    )
            else:
                report.check(False, "connection form and extra link not checked: login failed")
        finally:
            context.close()
    elapsed = time.monotonic() - started
    print(f"{report.checks} checks, {len(report.failed)} failed, {elapsed:.1f}s")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(approval_main(sys.argv[2:]) if sys.argv[1:2] == ["approval"] else main())
