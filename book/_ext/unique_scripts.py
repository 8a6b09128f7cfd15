"""Each inline script once per page.

Sphinx 7.4 re-adds the scripts that extensions registered after the builder started (prepare_writing),
naming an inline script '' where the first copy is named None; the two copies do not compare equal, so
each page carried sphinx-thebe's `const THEBE_JS_URL = ...` twice: a SyntaxError in every page's console.
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = (getattr(js, "filename", js) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
