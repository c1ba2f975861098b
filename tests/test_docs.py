"""The documentation holds together: README.md stays short and opens with its two commands,
and every relative link in README.md and docs/*.md leads to a file that exists and, with an
``#anchor``, to a heading of that file (GitHub's heading slugs)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

#: CI (.ci/run) runs README's test command; a new user needs no more than these two.
INSTALL_AND_DEMO = "pip install -e '.[test]' && tidalsort demo /tmp/tidalsort-demo"
TEST_SUITE = "python -m pytest -q"

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target); the target ends at whitespace (a "title") or ")"
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text in lower case, punctuation other than
    ``-`` and ``_`` dropped, spaces made hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, repeated headings numbered as GitHub does."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for match in HEADING.finditer(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    """Link targets of ``path`` that point into the repository (no scheme, not mailto)."""
    targets = LINK.findall(prose(path.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]


def broken(path: Path) -> list[str]:
    """The relative links of ``path`` that lead nowhere, each with the reason."""
    problems = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{target}: no file {dest}")
        elif anchor and (dest.suffix != ".md" or unquote(anchor) not in anchors(dest)):
            problems.append(f"{target}: no heading #{anchor} in {dest.name}")
    return problems


def test_slugs_are_githubs():
    assert slug("Families: what each sound is") == "families-what-each-sound-is"
    assert slug("Manifest format (version 2)") == "manifest-format-version-2"
    assert slug("Folders of `--layout families`") == "folders-of---layout-families"
    assert slug("OSC protocol, version 2") == "osc-protocol-version-2"
    assert slug("In Tidal: the `/ctrl` values") == "in-tidal-the-ctrl-values"


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "target.md").write_text("# Title\n\n## A section\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](target.md#a-section) [ok](#here) [web](https://example.org/x#y) `[code](nowhere.md)`\n"
        "[gone](missing.md) [no anchor](target.md#nothing) [self](#elsewhere)\n\n## Here\n",
        encoding="utf-8",
    )
    assert broken(page) == [
        f"missing.md: no file {tmp_path / 'missing.md'}",
        "target.md#nothing: no heading #nothing in target.md",
        "#elsewhere: no heading #elsewhere in page.md",
    ]


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    assert broken(path) == []


def test_readme_is_short_and_opens_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    blocks = re.findall(r"^```sh\n(.*?)\n```$", text, re.MULTILINE | re.DOTALL)
    assert blocks[:2] == [INSTALL_AND_DEMO, TEST_SUITE]
    before = text[: text.index("```sh")]
    assert before.strip() == "# tidalsort"  # nothing comes before the two commands but the title


def test_every_page_is_linked_from_readme():
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in relative_links(README)}
    assert PAGES
    assert [p.name for p in PAGES if p.resolve() not in linked] == []


def documented_errors() -> set[str]:
    """The ``tidalsort: error: ...`` lines docs/troubleshooting.md quotes."""
    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    return {line for line in text.splitlines() if line.startswith("tidalsort: error: ")}


def test_troubleshooting_quotes_the_real_messages(tmp_path, capsys):
    """What the page quotes is what the command prints (paths as the page writes them)."""
    import numpy as np
    import soundfile as sf

    from tidalsort.cli import main

    samples = tmp_path / "samples"
    kit, unnamed, words = samples / "kb6", samples / "___", samples / "words"
    for folder in (kit, unnamed, words):
        folder.mkdir(parents=True)
    t = np.arange(4410) / 44100
    sf.write(kit / "k.wav", np.sin(2 * np.pi * 60 * t) * np.exp(-20 * t), 44100)
    sf.write(unnamed / "k.wav", np.sin(2 * np.pi * 60 * t) * np.exp(-20 * t), 44100)
    (words / "readme.txt").write_text("not audio\n", encoding="utf-8")
    root = tmp_path / "tidal-samples"
    (root / "kb6").mkdir(parents=True)
    (root / "kb6" / "mine.wav").write_bytes(b"")
    runs = [
        ([kit, "--bank", "Kick Bank"], 1),
        ([kit, "--bank", "kick_labels"], 1),
        ([kit, "--bank", "my_kit", "--layout", "families"], 1),
        ([unnamed], 1),
        ([kit, "--bank", "kb6"], 1),
        ([words, "--bank", "words"], 1),
        ([samples / "kb7"], 2),
    ]
    documented = documented_errors()
    for args, status in runs:
        assert main(["sort", *map(str, args), "--out", str(root), "--no-dendrogram"]) == status
        last = capsys.readouterr().err.strip().splitlines()[-1].replace(str(tmp_path), "/home/me")
        assert last in documented, last
    assert main(["sort", str(kit), "--out", str(kit)]) == 1
    assert capsys.readouterr().err.strip().replace(str(tmp_path), "/home/me") in documented
