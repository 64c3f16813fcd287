"""The README's pictures come from a script; it must keep working with the real renderers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "screenshots.py"


def test_screenshot_script_renders_every_picture(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.main(tmp_path)
    names = sorted(p.name for p in written)
    assert names == ["get-failed.svg", "get.svg", "list.svg", "watch-several.svg", "watch.svg"]
    watch = (tmp_path / "watch.svg").read_text(encoding="utf-8")
    assert watch.startswith("<svg") and "Transfer" in watch and "web-01" in watch
    failed = (tmp_path / "get-failed.svg").read_text(encoding="utf-8")
    assert "Failed" in failed and "510008" in failed


def test_committed_pictures_exist_for_the_readme() -> None:
    readme = (SCRIPT.parent.parent / "README.md").read_text(encoding="utf-8")
    for name in ("watch", "watch-several", "get-failed"):
        assert f"docs/images/{name}.svg" in readme
        assert (SCRIPT.parent.parent / "docs" / "images" / f"{name}.svg").is_file()
