"""CJK font files for figures and pages: the full font, and a cached common-character copy.

No matplotlib import here: the report workers (HTML pages) use this module too.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from govstats._io import atomic_write_bytes

__all__ = ["cjk_font_path", "common_cjk_font", "embedding_copy", "quiet_fonttools"]


@contextlib.contextmanager
def quiet_fonttools() -> Iterator[None]:
    """fontTools' subsetter logs every table and glyph list at INFO; when a library in the
    kernel (diff-diff, dask) has set the root logger to INFO, those lines flood the report's
    notes box. Inside this block fontTools logs warnings and errors only."""
    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)

_CJK_FILES = ("NotoSansCJKsc-Regular.otf", "SourceHanSansSC-Regular.otf", "SimHei.ttf")
_SYSTEM_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype")


def cjk_font_path() -> Path | None:
    """Path of a font file with simplified-Chinese glyphs, or None.

    Looks in the ``mplfonts`` package first (installed with govstats), then in the
    usual Debian locations (``fonts-noto-cjk``).
    """
    candidates: list[Path] = []
    try:
        import mplfonts

        candidates += [Path(mplfonts.__file__).parent / "fonts" / f for f in _CJK_FILES]
    except ImportError:  # pragma: no cover - mplfonts is a declared dependency
        pass
    for d in _SYSTEM_DIRS:
        if Path(d).is_dir():
            candidates += sorted(Path(d).rglob("NotoSansCJK*-Regular.ttc"))
    return next((p for p in candidates if p.is_file()), None)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "govstats" / "fonts"


_COMMON_FONT_VERSION = "1"  # bump to rebuild every cached common-character font


def _common_codepoints(cmap) -> list[int]:
    """The font's code points outside the ideograph/Hangul blocks, plus GB 2312's 6,763 hanzi."""
    hanzi = {ord(bytes([hi, lo]).decode("gb2312", errors="ignore") or " ")
             for hi in range(0xB0, 0xF8) for lo in range(0xA1, 0xFF)} - {ord(" ")}

    def common(cp: int) -> bool:
        rare = (0x3400 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF
                or cp >= 0x20000)  # ideographs (kept: GB 2312's), Hangul, compatibility, planes 2+
        return cp in hanzi or not rare

    return sorted(cp for cp in cmap if common(cp))


@functools.cache
def common_cjk_font() -> tuple[Path, str, frozenset[int]] | None:
    """A cached copy of the CJK font cut to its common characters: ``(path, family, code points)``.

    Noto Sans CJK SC holds 65,535 glyphs; every PDF figure (Type 42 embedding) and
    every report page (web font) subsets it again, about 0.5-1 s of fontTools work
    each, nearly all of it reading the whole font. This copy keeps the glyphs of
    GB 2312 (the 6,763 common hanzi), Latin, Greek, Cyrillic, punctuation, symbols and
    the full-width forms, with the default OpenType layout features, under its own
    family name; the same outlines, so a figure or page drawn from it looks the same.
    It is built once per machine (several seconds) into ``~/.cache/govstats/fonts``
    (or under ``XDG_CACHE_HOME``) and reused by every process; text with a rarer
    character falls back to the full font. Returns None when there is no CJK font or the copy cannot be written.
    """
    source = cjk_font_path()
    if source is None:
        return None
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|"
                         f"{_COMMON_FONT_VERSION}".encode()).hexdigest()[:16]
    out = _cache_dir() / f"{source.stem}-common-{key}.otf"
    try:
        from fontTools.ttLib import TTFont

        with TTFont(str(source), lazy=True) as font:
            family = f"{font['name'].getBestFamilyName()} govstats common"
        if not (out.is_file() and out.with_suffix(".cmap").is_file()):
            from fontTools import subset

            options = subset.Options()
            options.name_IDs = ["*"]  # keep the copyright and licence records (SIL OFL)
            options.name_languages = ["*"]
            options.notdef_outline = True
            options.glyph_names = True
            with quiet_fonttools():
                font = subset.load_font(str(source), options)
                subsetter = subset.Subsetter(options)
                subsetter.populate(unicodes=_common_codepoints(font.getBestCmap()))
                subsetter.subset(font)
            ps_name = family.replace(" ", "")
            for record in font["name"].names:
                if record.nameID in (1, 16):
                    record.string = family
                elif record.nameID in (4,):
                    record.string = f"{family} Regular"
                elif record.nameID in (3, 6):
                    record.string = ps_name
            buffer = io.BytesIO()
            font.save(buffer)
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(out, buffer.getvalue())
            with TTFont(io.BytesIO(buffer.getvalue()), lazy=True) as built:
                listed = " ".join(f"{cp:x}" for cp in sorted(built.getBestCmap()))
            atomic_write_bytes(out.with_suffix(".cmap"), listed.encode("ascii"))
        # the code points, listed beside the font when it was built (reading its cmap costs more)
        codepoints = frozenset(int(cp, 16) for cp in out.with_suffix(".cmap").read_text().split())
    except OSError:
        return None
    return out, family, codepoints


# OpenType layout and vertical-writing tables: what a text engine shapes with, nothing a PDF
# viewer reads (a PDF places every glyph itself); subsetting them is most of the subsetter's work
_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "VORG", "vhea", "vmtx")


@functools.cache
def embedding_copy(path: str) -> str | None:
    """A copy of the font at ``path`` without its layout tables, for embedding in PDFs.

    Same glyph order, outlines, character map and horizontal metrics, so the glyph
    indices matplotlib lays text out with stay valid and an embedded subset draws the
    same glyphs at the same widths; only the GSUB/GPOS/... tables, which a PDF viewer
    never uses, are gone, and with them about half of each subsetting's time. Built
    once per font (under ``~/.cache/govstats/fonts``); None if it cannot be written.
    """
    source = Path(path)
    try:
        stat = source.stat()
        key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|"
                             f"{_LAYOUT_TABLES}".encode()).hexdigest()[:16]
        out = _cache_dir() / f"{source.stem}-embed-{key}{source.suffix}"
        if not out.is_file():
            from fontTools.ttLib import TTFont

            with quiet_fonttools(), TTFont(str(source), lazy=True) as font:
                for tag in _LAYOUT_TABLES:
                    if tag in font:
                        del font[tag]
                buffer = io.BytesIO()
                font.save(buffer)
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(out, buffer.getvalue())
    except OSError:
        return None
    return str(out)
