"""A warning (so ``-W`` fails the build) for every image without a description, when switched on.

``adamedu_require_alt_text`` (default False) in Sphinx's config, i.e. under ``sphinx: config:`` in
_config.yml, turns the guard on. An image needs an ``alt`` text that says what it shows (for a glued figure:
``:alt:`` on the ``{glue:figure}`` directive). Without one, Sphinx's HTML writer puts the image's file path
into ``alt`` (``../_images/<hash>.png``), which a screen reader reads out; an alt that is a file path, or is
the image's own URI, is refused too. The check runs on the resolved doctrees, after myst-nb has pasted the
glued outputs, so it sees the images as the HTML writer will.

Images that a notebook output shows as raw HTML (the animations' players) are not image nodes; their alt
texts come from :func:`adamedu.plots.jshtml` and tests/test_site_a11y.py checks them on the built pages.
"""

import re
from pathlib import PurePosixPath

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

CONFIG = "adamedu_require_alt_text"
PATH_LIKE = re.compile(r"(^|/)[^\s/]+\.(png|jpe?g|gif|svg|webp|pdf)$|^\.{0,2}/|_images/", re.IGNORECASE)


def alt_problem(alt, uri):
    """Why ``alt`` does not describe the image at ``uri``, or None if it may."""
    alt = (alt or "").strip()
    if not alt:
        return "has no alt text"
    if alt == uri or alt == PurePosixPath(uri or "").name or PATH_LIKE.search(alt):
        return f"has a file path as alt text ({alt!r})"
    return None


def check_images(app, doctree, docname):
    if not app.config[CONFIG]:
        return
    for image in doctree.findall(nodes.image):
        problem = alt_problem(image.get("alt"), image.get("uri", ""))
        if problem:
            logger.warning(f"image {image.get('uri', '')!r} {problem}: say what it shows (for a glued figure: "
                           f":alt: on the glue:figure directive)",
                           location=image if image.source else (docname, image.line), type="adamedu",
                           subtype="alt_text")


def setup(app):
    app.add_config_value(CONFIG, False, "env", types=[bool])
    app.connect("doctree-resolved", check_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
