"""A small automated accessibility check of the page shown, for the browser tests:
every visible control has an accessible name, headings start at h1 and never skip a level
going down, and no element has a positive tabindex (it would break the tab order)."""

from __future__ import annotations

import itertools
from typing import Any

# Every visible control and its accessible name (aria-label, aria-labelledby, a <label>, a
# button's text or a title): the ones without a name.
UNLABELLED_JS = """() => [...document.querySelectorAll(
    'input, select, textarea, button, a[href], [role=slider], [role=tab]')]
  .filter(el => el.getClientRects().length && el.type !== 'hidden')
  .filter(el => {
    const by = (el.getAttribute('aria-labelledby') || '').split(' ')
      .map(id => document.getElementById(id)?.textContent || '').join('');
    const name = (el.getAttribute('aria-label') || '') + by
      + [...(el.labels || [])].map(l => l.textContent).join('')
      + (['BUTTON', 'A'].includes(el.tagName) || el.getAttribute('role') ? el.textContent : '')
      + (el.getAttribute('title') || '');
    return !name.trim();
  })
  .map(el => el.outerHTML.slice(0, 160))"""

# Visible headings in document order: "h<level> text".
HEADINGS_JS = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6, [role=heading]')]
  .filter(el => el.getClientRects().length)
  .map(el => [Number(el.getAttribute('aria-level') || el.tagName.slice(1)),
              el.textContent.trim().slice(0, 60)])"""

POSITIVE_TABINDEX_JS = """() => [...document.querySelectorAll('[tabindex]')]
  .filter(el => el.tabIndex > 0).map(el => el.outerHTML.slice(0, 160))"""


def heading_problems(headings: list[tuple[int, str]]) -> list[str]:
    """The first heading is an h1; going down, a heading is at most one level deeper."""
    out = []
    if headings and headings[0][0] != 1:
        out.append(f"the first heading is h{headings[0][0]}: {headings[0][1]!r}")
    for (before, _), (level, text) in itertools.pairwise(headings):
        if level > before + 1:
            out.append(f"h{level} {text!r} follows h{before}")
    return out


def assert_labelled(page: Any) -> None:
    unlabelled = page.evaluate(UNLABELLED_JS)
    assert unlabelled == [], unlabelled


def audit(page: Any) -> None:
    """All three checks on what `page` shows now; the assertion lists every problem."""
    problems = [f"no accessible name: {html}" for html in page.evaluate(UNLABELLED_JS)]
    problems += heading_problems([(int(lv), str(t)) for lv, t in page.evaluate(HEADINGS_JS)])
    problems += [f"positive tabindex: {html}" for html in page.evaluate(POSITIVE_TABINDEX_JS)]
    assert problems == [], f"{page.url}:\n" + "\n".join(problems)
