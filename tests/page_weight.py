"""What each page of the built site weighs at first load, measured in headless Chromium (issue 13).

A page's first-load weight is the bytes of its HTML and of every resource the browser fetches to show it, with
an empty cache: scripts, stylesheets, images, the fonts its CSS and MathJax load (MathJax fetches its fonts only
once it typesets, so the measure waits for MathJax to finish and for the network to go quiet), iframes. Each
page is opened in a fresh browser context (its own empty cache); every response from this machine is counted by
its body's length (the bytes as served, uncompressed: the site's local server does not compress), and also
gzip-compressed (level 6), which estimates what a server that compresses (GitHub Pages, nginx) sends.

Each page's weight is split into

- **own**: its HTML and the resources no other measured page loads (a chapter's pictures, the animation's frames,
  an explorable's data are in its HTML);
- **shared**: resources that at least one other measured page loads too (the theme, MathJax, plotly.js): a reader
  who opened another page first has them in the browser's cache.

Used by tests/test_site_weight.py (the limit per chapter) and as a script that prints the table::

    PYTHONPATH=$PWD python tests/page_weight.py [SITE_DIR] [--json OUT.json]

(SITE_DIR defaults to _build/html; Chromium is /usr/bin/chromium or $CHROMIUM.)
"""

import gzip
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

MB = 1_000_000  # the report's megabyte: 10⁶ bytes

# Wait for MathJax to have typeset the page (it loads its fonts while doing so), when the page has math.
MATHJAX_DONE_JS = """async () => {
  if (!document.querySelector('.math')) return;
  const deadline = Date.now() + 20000;
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 50));
  }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  if (document.fonts) await document.fonts.ready;
}"""


@dataclass
class PageWeight:
    """The resources one page fetched at first load: ``{url path: (bytes, gzip bytes, resource type)}``."""

    page: str
    resources: dict = field(default_factory=dict)
    document: str = ""  # the path of the page's own HTML
    outside: list = field(default_factory=list)  # requests to other hosts (refused, not counted)
    pending: list = field(default_factory=list)  # requests still open when the network did not go quiet

    @property
    def total(self):
        return sum(size for size, _, _ in self.resources.values())

    @property
    def total_gzip(self):
        return sum(z for _, z, _ in self.resources.values())

    def split(self, shared_paths):
        """(own bytes, shared bytes): shared are the resources in ``shared_paths`` (never the page's HTML)."""
        shared = sum(s for path, (s, _, _) in self.resources.items() if path in shared_paths and path != self.document)
        return self.total - shared, shared

    def largest(self, n=5):
        return sorted(((s, p) for p, (s, _, _) in self.resources.items()), reverse=True)[:n]


def measure(browser, base, page, settle_ms=500):
    """Open ``base + page + '.html'`` in a fresh context of ``browser`` (a Playwright Browser) and weigh it."""
    from test_site import leaves_this_machine

    weight = PageWeight(page=page)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    ctx.route(leaves_this_machine, lambda route: (weight.outside.append(route.request.url), route.abort()))
    responses, open_requests = [], {}
    tab = ctx.new_page()
    tab.on("response", lambda response: responses.append(response))
    tab.on("request", lambda request: open_requests.__setitem__(id(request), request.url))
    tab.on("requestfinished", lambda request: open_requests.pop(id(request), None))
    tab.on("requestfailed", lambda request: open_requests.pop(id(request), None))
    try:
        url = f"{base}{page}.html"
        tab.goto(url, wait_until="load", timeout=60_000)
        tab.evaluate(MATHJAX_DONE_JS)
        try:
            tab.wait_for_load_state("networkidle", timeout=30_000)
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: say what was still loading, count the rest
            weight.pending = sorted(open_requests.values()) or ["(none open: the network never stayed quiet)"]
        tab.wait_for_timeout(settle_ms)
        weight.document = urlsplit(url).path
        for response in responses:
            if leaves_this_machine(response.url) or not response.ok:
                continue
            try:
                body = response.body()
            except Exception:  # noqa: BLE001 - a redirect or an aborted fetch has no body: nothing was loaded
                continue
            path = urlsplit(response.url).path
            weight.resources[path] = (len(body), len(gzip.compress(body, 6)), response.request.resource_type)
    finally:
        ctx.close()
    return weight


def measure_site(browser, base, pages):
    """{page: PageWeight} for each page, and the set of resource paths that two or more of them load."""
    weights = {page: measure(browser, base, page) for page in pages}
    seen = {}
    for w in weights.values():
        for path in w.resources:
            if path != w.document:
                seen[path] = seen.get(path, 0) + 1
    return weights, {path for path, n in seen.items() if n >= 2}


def table(weights, shared_paths):
    """A Markdown table: page, first load (MB), own, shared, gzip estimate, requests, the largest resources."""
    rows = ["| page | first load (MB) | own (MB) | shared (MB) | gzip (MB) | requests | largest |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for page, w in weights.items():
        own, shared = w.split(shared_paths)
        big = ", ".join(f"{Path(p).name} {s / MB:.2f}" for s, p in w.largest(3))
        rows.append(f"| {page} | {w.total / MB:.2f} | {own / MB:.2f} | {shared / MB:.2f} | "
                    f"{w.total_gzip / MB:.2f} | {len(w.resources)} | {big} |")
    return "\n".join(rows)


def as_json(weights, shared_paths):
    return {page: {"total": w.total, "total_gzip": w.total_gzip, "own": w.split(shared_paths)[0],
                   "shared": w.split(shared_paths)[1], "outside": w.outside,
                   "resources": {p: {"bytes": s, "gzip": z, "type": t} for p, (s, z, t) in w.resources.items()}}
            for page, w in weights.items()}


def main(argv):
    """Serve a built site on 127.0.0.1, weigh every page of _toc.yml, print the table (and write JSON)."""
    import functools
    import http.server
    import os
    import threading

    sys.path.insert(0, str(Path(__file__).parent))
    args = [a for a in argv if not a.startswith("--")]
    out = argv[argv.index("--json") + 1] if "--json" in argv else None
    if out in args:
        args.remove(out)
    site = Path(args[0] if args else Path(__file__).resolve().parents[1] / "_build" / "html").resolve()
    os.environ["ADAMEDU_SITE_DIR"] = str(site)
    from playwright.sync_api import sync_playwright
    from test_site import CHROMIUM_ARGS, PAGES, QuietHandler

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    pages = [p for p in PAGES if (site / f"{p}.html").is_file()]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM") or "/usr/bin/chromium",
                                                 args=CHROMIUM_ARGS)
            try:
                weights, shared = measure_site(browser, base, pages)
            finally:
                browser.close()
    finally:
        server.shutdown()
    print(f"First-load weight of each page of {site} (MB = 10⁶ bytes; shared = loaded by another page too)\n")
    print(table(weights, shared))
    if out:
        Path(out).write_text(json.dumps(as_json(weights, shared), indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
