"""Every word an operator reads is marked up for translation, in templates and in Python.

The operator pages render in English, but a translator must find every sentence in the
catalogs: a template's text outside {% translate %} / {% blocktranslate %}, or a message,
label or validation error written as a bare string literal, would never reach them.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType
from django.utils.text import smart_split

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
# Attributes whose values people read (screen readers, tooltips, empty inputs, images).
READ_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt", "aria-description"}
# Words that are no English: names that stay as they are in every language.
NOT_WORDS = {"ACS", "UTC", "JSON", "CSV"}
# Tag arguments that name things for the code, never for a reader.
TECHNICAL_KEYS = {
    "action",
    "button_id",
    "chart_id",
    "default",
    "form",
    "href",
    "id",
    "method",
    "page_layout",
    "request_ref",
    "tags",
    "type",
}
# Tags whose positional string arguments after the first are labels people read.
LABEL_TAGS = {"sort_header", "sort_th"}
# Elements holding text for machines: scripts, styles, and code people copy as it is (commands,
# header names, file formats).
MACHINE_TEXT = {"script", "style", "code", "pre", "kbd", "samp"}
# Our placeholder for the text of a template tag or variable: no letter, no HTML meaning.
HOLE = "\ue000"
WORD = re.compile(r"[^\W\d_]{2,}")


def _words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.replace(HOLE, " ")) if w not in NOT_WORDS]


class _Reader(HTMLParser):
    """The words of a page's text and of its read attributes (machine text left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in MACHINE_TEXT:
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.words += _words(value)

    def handle_endtag(self, tag):
        if tag in MACHINE_TEXT and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.words += _words(data)


def _literal_labels(contents: str) -> list[str]:
    """String literals with words given to a tag as a label (``label="Filter resources"``,
    ``{% sort_th "name" "Name" %}``) rather than through ``_("...")``."""
    bits = list(smart_split(contents))
    found = []
    if bits and bits[0] in LABEL_TAGS:
        found += [b for b in bits[2:] if b[:1] in "\"'" and _words(b)]
    for bit in bits:
        key, _, value = bit.partition("=")
        if value[:1] in "\"'" and key not in TECHNICAL_KEYS and _words(value):
            found.append(bit)
    return found


def untranslated(source: str) -> list[str]:
    """What a template shows in English outside the translation tags."""
    text, found, depth = [], [], 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split(None, 1)[0] if token.contents else ""
            if name in ("comment", "verbatim"):
                depth += 1
            elif name in ("endcomment", "endverbatim"):
                depth -= 1
            elif name in ("blocktranslate", "blocktrans"):
                depth += 1
            elif name in ("endblocktranslate", "endblocktrans"):
                depth -= 1
            else:
                found += _literal_labels(token.contents)
            text.append(HOLE)
        elif token.token_type == TokenType.TEXT:
            text.append(HOLE if depth else token.contents)
        else:
            if token.token_type == TokenType.VAR:
                found += [
                    f"|default:{m}"
                    for m in re.findall(r'\|default:("[^"]*")', token.contents)
                    if _words(m)
                ]
            text.append(HOLE)
    reader = _Reader()
    reader.feed("".join(text))
    reader.close()
    return found + reader.words


def test_the_check_finds_english_outside_the_translation_tags():
    assert untranslated("<p>Hello {{ name }}</p>") == ["Hello"]
    assert untranslated('<a title="Open it" href="/x">{% translate "Go" %}</a>') == ["Open", "it"]
    assert untranslated('{% sort_th "name" "Name" %}{% sort_th "type" _("Type") %}') == ['"Name"']
    assert untranslated('{% include "x.html" with label="Filter runs" chart_id="c-1" %}') == [
        'label="Filter runs"'
    ]
    assert untranslated('{{ when|default:"never" }}{{ x|default:"—" }}') == ['|default:"never"']
    assert (
        untranslated(
            '{% load i18n %}<p aria-label="{% translate "Pages" %}">{% blocktranslate trimmed %}'
            "{{ n }} rows{% endblocktranslate %} · 3 → ACS</p><script>var a = 1;</script>"
        )
        == []
    )


def _templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_word_of_a_template_is_marked_for_translation(path):
    assert untranslated(path.read_text(encoding="utf-8")) == []


# --- Python: messages, form and filter labels, validation errors -------------------------------

PACKAGES = ("api", "assignments", "audit", "notifications", "portal", "tenants")
GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}
LEVELS = {"debug", "info", "success", "warning", "error"}
LABEL_KEYWORDS = {"label", "help_text", "empty_label"}
LABEL_DICTS = {"labels", "help_texts", "field_labels"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _is_gettext(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) in GETTEXT


def _sentence(value: object) -> bool:
    """A string a person reads (``"Saved."``, ``"Any status"``), not a key (``"add"``)."""
    return (
        isinstance(value, str)
        and bool(WORD.search(value))
        and (" " in value or value[:1].isupper())
    )


def _bare_text(node: ast.AST) -> list[str]:
    """The text in ``node`` that no gettext call wraps (keys and subscripts are not text)."""
    if _is_gettext(node):
        assert isinstance(node, ast.Call)
        msgid = node.args[0] if node.args else None
        if not (isinstance(msgid, ast.Constant) and isinstance(msgid.value, str)):
            return [f"gettext of a non-literal: {ast.unparse(node)}"]  # xgettext cannot read it
        return []
    if isinstance(node, ast.JoinedStr):
        return [ast.unparse(node)]
    if isinstance(node, ast.Constant):
        return [repr(node.value)] if _sentence(node.value) else []
    if isinstance(node, ast.Dict):
        return [t for value in node.values for t in _bare_text(value)]
    if isinstance(node, ast.Subscript):
        return _bare_text(node.value)
    return [t for child in ast.iter_child_nodes(node) for t in _bare_text(child)]


def _messages(node: ast.Call) -> list[ast.expr]:
    """The message argument of ``messages.<level>(request, message)`` (or of the level chosen
    by a condition), of ``ValidationError(message)`` and of ``add_error(field, message)``."""
    func = node.func
    funcs = [func.body, func.orelse] if isinstance(func, ast.IfExp) else [func]
    if all(
        isinstance(f, ast.Attribute) and _name(f.value) == "messages" and f.attr in LEVELS
        for f in funcs
    ):
        return node.args[1:2]
    if isinstance(func, ast.Attribute) and _name(func.value) == "messages":
        return node.args[2:3] if func.attr == "add_message" else []
    if _name(func) == "ValidationError":
        return node.args[:1] + [k.value for k in node.keywords if k.arg == "message"]
    if _name(func) == "add_error":
        return node.args[1:2]
    return []


def _labels(tree: ast.AST) -> list[ast.expr]:
    """Form and filter labels, help texts and empty labels, and the values of ``labels`` /
    ``help_texts`` / ``field_labels`` dicts and of choices lists."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                choices = keyword.arg == "choices" and isinstance(keyword.value, ast.List)
                if keyword.arg in LABEL_KEYWORDS | LABEL_DICTS or choices:
                    found.append(keyword.value)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Dict)
            and any(isinstance(t, ast.Name) and t.id in LABEL_DICTS for t in node.targets)
        ):
            found.append(node.value)
    return found


def _python_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and "management" not in path.parts
    )


def unmarked(source: str, *, forms: bool) -> list[str]:
    """What a module shows an operator without marking it for translation."""
    tree = ast.parse(source)
    shown = [m for node in ast.walk(tree) if isinstance(node, ast.Call) for m in _messages(node)]
    if forms:
        shown += _labels(tree)
    return [text for node in shown for text in _bare_text(node)]


def test_the_check_finds_messages_and_labels_left_in_english():
    assert unmarked('messages.success(request, f"{x} saved.")', forms=False) == ["f'{x} saved.'"]
    assert unmarked('messages.error(request, str(exc) or "No such operator.")', forms=False) == [
        "'No such operator.'"
    ]
    assert unmarked('messages.info(request, _("Saved %(x)s.") % {"x": x})', forms=False) == []
    assert unmarked('messages.info(request, format_html(_("A {}"), x))', forms=False) == []
    assert (
        unmarked("(messages.success if ok else messages.error)(request, r.detail)", forms=False)
        == []
    )
    assert unmarked('raise forms.ValidationError(_(f"Too big: {n}"))', forms=False) == [
        "gettext of a non-literal: _(f'Too big: {n}')"
    ]
    assert unmarked('f = forms.CharField(label="Name", help_text=_("A name."))', forms=True) == [
        "'Name'"
    ]
    assert unmarked('c = forms.ChoiceField(choices=[("a", "All rows")])', forms=True) == [
        "'All rows'"
    ]


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_message_and_label_is_marked_for_translation(path):
    forms = path.name in ("forms.py", "filters.py")
    assert unmarked(path.read_text(encoding="utf-8"), forms=forms) == []
