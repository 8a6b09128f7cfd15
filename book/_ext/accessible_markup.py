"""Two pieces of markup that axe-core (WCAG 2.1 A/AA) flags, mended where the HTML is written.

- myst-nb's "Show code cell source" toggles: ``<summary aria-label="Toggle hidden content">`` gives the
  control a name that differs from the words it shows (rule label-content-name-mismatch, WCAG 2.5.3: a
  speech user says "Show code cell source" and nothing happens). Without the aria-label the summary is named
  by its visible text.
- The bibliography: docutils writes each citation as ``role="doc-biblioentry"`` inside ``role="list"``; ARIA
  1.2 lets a list hold only list items (rule aria-required-children), and DPUB-ARIA 1.1 deprecates
  doc-biblioentry in favour of listitem. So each citation becomes ``role="listitem"``.

Both wrap the visitors that are already registered (myst-nb's, the translator's own) and edit only the tag
they have just written, so the rest of the markup stays theirs.
"""

from docutils import nodes

TOGGLE_LABEL = ' aria-label="Toggle hidden content"'


def _visit_hidden_cell(self, node):
    from myst_nb.sphinx_ import visit_HideCellInput

    start = len(self.body)
    visit_HideCellInput(self, node)
    self.body[start:] = [part.replace(f"<summary{TOGGLE_LABEL}>", "<summary>") for part in self.body[start:]]


def _depart_hidden_cell(self, node):
    from myst_nb.sphinx_ import depart_HideCellInput

    depart_HideCellInput(self, node)


def _visit_citation(self, node):
    start = len(self.body)
    type(self).visit_citation(self, node)  # the translator class's own, whichever theme's translator it is
    self.body[start:] = [part.replace('role="doc-biblioentry"', 'role="listitem"') for part in self.body[start:]]


def _depart_citation(self, node):
    type(self).depart_citation(self, node)


def setup(app):
    app.setup_extension("myst_nb")  # its node must be registered before we wrap its visitor
    from myst_nb.sphinx_ import HideCodeCellNode

    app.add_node(HideCodeCellNode, override=True, html=(_visit_hidden_cell, _depart_hidden_cell))
    app.add_node(nodes.citation, override=True, html=(_visit_citation, _depart_citation))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
