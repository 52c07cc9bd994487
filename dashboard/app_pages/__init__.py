"""The dashboard's pages, listed once: the navigation, the tests and the browser walk all read `PAGES`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page: its script `app_pages/<name>.py` and the title in the navigation."""

    name: str
    title: str
    question: str = ""  # what the page answers, in a director's words (the About page lists them)
    charts: bool = True  # False for pages of text or downloads only
    sections: tuple[str, ...] = ()  # tab labels of a page that shows one section at a time (widgets.sections)

    @property
    def script(self) -> str:
        """The page's script, relative to the dashboard folder (as `AppTest.switch_page` wants it)."""
        return f"app_pages/{self.name}.py"

    @property
    def section_key(self) -> str:
        """The session-state key holding the open section's label (tests open each section through it)."""
        return f"{self.name}_section"

    @property
    def url_path(self) -> str:
        """The path of the page's address: the first page is the site's root."""
        return "" if self is PAGES[0] else self.name


PAGES: tuple[Page, ...] = (
    Page("overview", "Overview", "how many people enrolled, how long they stay engaged, how many stay free of relapse."),
    Page("retention", "Retention", "how long people stay engaged, by site, track, session format or enrollment quarter.",
         sections=("Time engaged", "By enrollment month")),
    Page("relapse", "Relapse & milestones", "how long people stay free of relapse, and how many reach 30, 90 or 365 days.",
         sections=("Relapse-free time", "What happens first", "Who relapses sooner", "Sobriety milestones")),
    Page("engagement", "Engagement", "whether coming to sessions more often goes with fewer relapses.",
         sections=("Attendance", "No-shows", "Dose and relapse")),
    Page("mentors", "Mentors & matching", "which mentor and match features go with people staying longer.",
         sections=("Caseloads and rematches", "Certification and first match", "Outcomes by match")),
    Page("practice", "Mentoring practice", "whether goals are set and met, referrals connect, check-ins go with fewer "
         "relapses, mentors are supervised, where incidents happen and how many graduates now mentor.",
         sections=("Goals", "Referrals", "Check-ins", "Supervision", "Incidents", "Graduates who mentor")),
    Page("data_quality", "Data quality", "what the latest load read, loaded and set aside, and why."),
    Page("evidence", "Evidence", "the charts, numbers and methods text for a grant report, in one download.", charts=False),
    Page("about", "About these numbers", charts=False),
)
