"""The dashboard's pages, listed once: the navigation, the tests and the browser walk all read `PAGES`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page: its script `app_pages/<name>.py` and the title in the navigation."""

    name: str
    title: str

    @property
    def script(self) -> str:
        """The page's script, relative to the dashboard folder (as `AppTest.switch_page` wants it)."""
        return f"app_pages/{self.name}.py"

    @property
    def url_path(self) -> str:
        """The path of the page's address: the first page is the site's root."""
        return "" if self is PAGES[0] else self.name


PAGES: tuple[Page, ...] = (
    Page("overview", "Overview"),
    Page("retention", "Retention"),
    Page("relapse", "Relapse & milestones"),
    Page("engagement", "Engagement"),
    Page("mentors", "Mentors & matching"),
    Page("data_quality", "Data quality"),
    Page("evidence", "Evidence"),
)
