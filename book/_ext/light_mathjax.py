"""MathJax from its separate components, not from the combined ``tex-chtml.js`` (issue 13: page weight).

sphinx-mathjax-offline bundles MathJax 3 into ``_static/mathjax`` and, in its ``setup``, points
``mathjax_path`` at ``mathjax/tex-chtml.js`` (1.16 MB: TeX input, CommonHTML output, the right-click menu and
the assistive MathML in one file), overriding whatever ``_config.yml`` says. This extension points it at
``mathjax/startup.js`` (the loader, 30 kB) once the configuration is read; the components it then loads are
those of ``mathjax3_config.loader.load`` in ``_config.yml`` (input/tex, output/chtml with its TeX font data,
a11y/assistive-mml: 0.76 MB with the core). The menu (0.43 MB) is left out.
"""

STARTUP = "mathjax/startup.js"


def _use_startup(app, config):
    load = ((config.mathjax3_config or {}).get("loader") or {}).get("load")
    if not load:  # without a list of components, startup.js would load no input and no output: keep the bundle
        return
    config.mathjax_path = STARTUP


def setup(app):
    app.connect("config-inited", _use_startup, priority=900)  # after every extension's setup
    return {"parallel_read_safe": True, "parallel_write_safe": True}
