"""Static images (PNG, SVG) of figures in one headless Chromium page, on a thread of its own.

Why not kaleido's sync server: it reloads its page (plotly.js, a few MB of JavaScript) after every image,
~0.15 s of browser CPU an image and most of the evidence pack's rendering. `Plotly.toImage` draws each
figure into an element of its own and removes it afterwards, so one page renders every image of a pack and
the PNGs come out byte-identical (tests/app/test_render.py). The browser starts when the `Painter` is made,
so it boots while Python imports and computes; renders run while the caller builds the next figure. A
second page, loaded once the first was up, was tried: loading plotly.js again cost ~1 s of CPU on the demo
pack (6.2 s against 5.5 s, medians of 3 alternating runs) and the renders already keep pace with Python.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType

import kaleido
from kaleido.errors import ChromeNotFoundError

from peer_outcomes.pipelines.errors import UserError

NO_BROWSER = ("The charts need Chromium, which was not found: install it (sudo apt-get install chromium) "
              "or point BROWSER_PATH at a Chrome or Chromium.")  # fmt: skip


def _not_the_goodbye(record: logging.LogRecord) -> bool:
    """Drop choreographer's "JSONError decoding message. Ignoring" (with a traceback): at close, Chromium's
    "{bye}" can arrive in one read with the last reply, which choreographer then fails to parse and ignores."""
    return not record.getMessage().startswith("JSONError decoding message")


logging.getLogger("choreographer.channels.pipe").addFilter(_not_the_goodbye)


class _OnePage(kaleido.Kaleido):
    """Kaleido that keeps its page between images instead of reloading it (see the module docstring)."""

    async def _return_kaleido_tab(self, tab) -> None:  # noqa: ANN001 - kaleido's private tab type
        await self.tabs_ready.put(tab)


class Painter:
    """One browser for many images: `render(...)` returns at once with a Future; `with Painter() as p:` closes it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="painter", daemon=True)
        self._thread.start()
        self._browser = asyncio.run_coroutine_threadsafe(self._open(), self._loop)  # starts now
        self._closing: Future[None] | None = None
        self._closing_lock = threading.Lock()  # `finish` may be called from the painter's thread and the caller's

    @staticmethod
    async def _open() -> _OnePage:
        browser = _OnePage(n=1)
        await browser.open()
        return browser

    def render(self, spec: dict, path: Path, fmt: str, width: int, height: int, scale: float = 1) -> Future[None]:
        """Write figure `spec` (a plotly figure dict) as `fmt` ("png" or "svg") to `path`, in the background."""

        async def paint() -> None:
            try:
                browser = await asyncio.wrap_future(self._browser)
            except ChromeNotFoundError:
                raise UserError(NO_BROWSER) from None
            opts = {"format": fmt, "width": width, "height": height, "scale": scale}
            path.write_bytes(await browser.calc_fig(spec, opts=opts))

        return asyncio.run_coroutine_threadsafe(paint(), self._loop)

    def finish(self) -> None:
        """Start closing the browser, without waiting: every render the caller needs is done, and the browser's
        shutdown (~0.6 s) overlaps whatever the caller does next (the pack writes its PDF)."""
        with self._closing_lock:
            if self._closing is None:
                self._closing = asyncio.run_coroutine_threadsafe(self._shut(), self._loop)

    async def _shut(self) -> None:
        if not self._browser.done() or self._browser.exception() is None:
            await (await asyncio.wrap_future(self._browser)).close()

    def close(self) -> None:
        """Close the browser (if `finish` has not) and stop the thread; the caller has waited for its renders."""
        self.finish()
        try:
            self._closing.result(timeout=60)
        except Exception:  # noqa: BLE001 - a browser that never started or already died has nothing to close
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> Painter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
